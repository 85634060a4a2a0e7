#!/usr/bin/python3
"""fake_daemon.py: a test double of autocorrectd for the shell integration tests.

What it is: a tiny UNIX-socket server that speaks the subset of docs/protocol.md the shell scripts use
(newline-delimited JSON "complete" and "correct", and the plain-text `nc -U` fallback) with fixed,
predictable answers, so the shell widgets can be tested without a model and with controlled timing.
What it is not: a model, or a reference for the protocol. The real tests run against
build/bin/autocorrectd; this double only covers what the real daemon cannot make deterministic
(a slow reply that must be dropped as stale).

Answers:
  complete  the rest of each PHRASES entry that starts with the last line of `before` (at most "n" of
            them); nothing when none does. `before` containing "slow" is answered after SLOW_S.
            A request superseded by a newer one of its session is answered {"cancelled":true},
            unless FAKE_NO_SUPERSEDE is set in the environment (then every reply comes, so the
            client alone must drop the stale ones).
  correct   the words of TYPOS found in `before`, with byte offsets.
Usage: fake_daemon.py SOCKET [LOGFILE]   (LOGFILE gets one line per request: the raw JSON)
"""
import json
import os
import socket
import sys
import threading
import time

PHRASES = [
    "git status --short",
    "git stash list",
    "echo hello world",
    "the quick brown fox jumps over the lazy dog",
    "echo slow reply",
]
TYPOS = {"brwn": "brown", "teh": "the", "qick": "quick"}
SLOW_S = 0.6

log_lock = threading.Lock()


def completions(before, n):
    line = before.rsplit("\n", 1)[-1]
    out = []
    for p in PHRASES:
        if p.startswith(line) and len(p) > len(line):
            out.append({"text": p[len(line):], "score": -1.0 - len(out)})
    return out[:n]


def corrections(before):
    raw = before.encode("utf-8", "surrogateescape")
    out = []
    for word, repl in TYPOS.items():
        w = word.encode()
        start = 0
        while True:
            i = raw.find(w, start)
            if i < 0:
                break
            end = i + len(w)
            edge_l = i == 0 or not chr(raw[i - 1]).isalnum()
            edge_r = end == len(raw) or not chr(raw[end]).isalnum()
            if edge_l and edge_r:
                out.append({"start": i, "end": end, "original": word, "replacement": repl, "score": 2.0})
            start = end
    out.sort(key=lambda c: c["start"])
    return out


def serve_json(conn, first, logf):
    latest = {}  # session -> newest id
    send_lock = threading.Lock()

    def send(obj):
        data = (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        with send_lock:
            try:
                conn.sendall(data)
            except OSError:
                pass

    def answer(req):
        rid = req.get("id")
        sess = req.get("session", "")
        before = req.get("before", "")
        if "slow" in before:
            time.sleep(SLOW_S)
        if sess and latest.get(sess) != rid and not os.environ.get("FAKE_NO_SUPERSEDE"):
            send({"id": rid, "cancelled": True, "reason": "superseded"})
            return
        op = req.get("op")
        if op == "complete":
            send({"id": rid, "completions": completions(before, int(req.get("n", 1))), "partial": False})
        elif op == "correct":
            send({"id": rid, "corrections": corrections(before), "partial": False})
        elif op == "health":
            send({"id": rid, "ok": True})
        else:
            send({"id": rid, "error": {"code": "unknown_op", "message": "fake daemon: unknown op"}})

    buf = first
    while True:
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if logf:
                with log_lock, open(logf, "ab") as f:
                    f.write(line + b"\n")
            try:
                req = json.loads(line.decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as e:
                send({"id": None, "error": {"code": "bad_json", "message": str(e)}})
                continue
            if req.get("session"):
                latest[req["session"]] = req.get("id")
            threading.Thread(target=answer, args=(req,), daemon=True).start()
        try:
            data = conn.recv(65536)
        except OSError:
            return
        if not data:
            return
        buf += data


def serve_plain(conn, first):
    buf = first
    conn.settimeout(0.2)
    while b"\n" not in buf:
        try:
            data = conn.recv(65536)
        except socket.timeout:
            break
        if not data:
            break
        buf += data
    text = buf.split(b"\n", 1)[0].decode("utf-8", "replace")
    reply = "".join(c["text"] + "\n" for c in completions(text, 1))
    conn.sendall(reply.encode())


def client(conn, logf):
    try:
        first = conn.recv(65536)
        if not first:
            return
        if first[:1] == b"{":
            serve_json(conn, first, logf)
        else:
            serve_plain(conn, first)
    finally:
        conn.close()


def main():
    path = sys.argv[1]
    logf = sys.argv[2] if len(sys.argv) > 2 else None
    if os.path.exists(path):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(16)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=client, args=(conn, logf), daemon=True).start()


if __name__ == "__main__":
    main()
