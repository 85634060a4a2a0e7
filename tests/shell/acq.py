#!/usr/bin/python3
"""acq.py: the shell tests' view of the daemon and of the terminal. Not a client users run.

  acq.py complete SOCK LINE [N [MAX_TOKENS [AFTER]]]  the completions of LINE the way the shell scripts ask
                                                for them (stop at end of line), one per line, with
                                                control characters removed as the scripts do
  acq.py correct SOCK LINE                      LINE with the daemon's corrections applied
  acq.py ghost PREFIX < capture                 from `tmux capture-pane -p -e`: the dim text drawn
                                                right after the line that starts with PREFIX
                                                (exit 1 when that line is not on screen);
                                                ACQ_FG=35 looks for SGR 35 instead of 90
  acq.py plain-line PREFIX < capture            that line without colours (exit 1 when absent)
LINE may hold any bytes: it is given as hex with a "hex:" prefix.
"""
import json
import os
import re
import signal
import socket
import sys

SGR = re.compile(r"\x1b\[([0-9;]*)m")


def arg_text(s):
    if s.startswith("hex:"):
        return bytes.fromhex(s[4:]).decode("utf-8", "replace")
    return s


def ask(sock_path, req):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(sock_path)
    s.sendall((json.dumps(req) + "\n").encode())
    buf = b""
    while b"\n" not in buf:
        data = s.recv(65536)
        if not data:
            break
        buf += data
    s.close()
    return json.loads(buf.split(b"\n", 1)[0])


def clean(text):
    text = text.split("\n", 1)[0]
    return "".join(c for c in text if ord(c) >= 32 and ord(c) != 127)


def screen_lines():
    return sys.stdin.buffer.read().decode("utf-8", "replace").split("\n")


def main():
    cmd = sys.argv[1]
    if cmd == "complete":
        sock, line = sys.argv[2], arg_text(sys.argv[3])
        n = int(sys.argv[4]) if len(sys.argv) > 4 else 1
        mt = int(sys.argv[5]) if len(sys.argv) > 5 else 8
        req = {"id": 1, "op": "complete", "session": "acq", "before": line, "max_tokens": mt, "n": n,
               "stop_rule": "line"}
        if len(sys.argv) > 6:
            req["after"] = arg_text(sys.argv[6])
        rep = ask(sock, req)
        for c in rep.get("completions", []):
            print(clean(c["text"]))
    elif cmd == "correct":
        sock, line = sys.argv[2], arg_text(sys.argv[3])
        rep = ask(sock, {"id": 1, "op": "correct", "before": line})
        raw = line.encode()
        for c in reversed(rep.get("corrections", [])):
            raw = raw[:c["start"]] + c["replacement"].encode() + raw[c["end"]:]
        print(raw.decode("utf-8", "replace"))
    elif cmd in ("ghost", "plain-line"):
        prefix = arg_text(sys.argv[2])
        for row in screen_lines():
            plain = SGR.sub("", row)
            if not plain.startswith(prefix):
                continue
            if cmd == "plain-line":
                print(plain.rstrip())
                return 0
            # walk the row: text after PREFIX drawn while the foreground is 90 (fg=8)
            ghost, dim, seen = "", False, 0
            pos = 0
            for m in list(SGR.finditer(row)) + [None]:
                end = m.start() if m else len(row)
                chunk = row[pos:end]
                for ch in chunk:
                    if seen >= len(prefix) and dim:
                        ghost += ch
                    seen += 1
                if m is None:
                    break
                for code in (m.group(1) or "0").split(";"):
                    if code == os.environ.get("ACQ_FG", "90"):
                        dim = True
                    elif code in ("0", "39", "") or code.startswith("3"):
                        dim = False
                pos = m.end()
            print(ghost.rstrip())
            return 0
        return 1
    else:
        print("acq.py: unknown command " + cmd, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `acq.py ... | head -1` is normal use
    sys.exit(main() or 0)
