#!/usr/bin/env bash
# The real autocorrectd with the tiny fixture model under valgrind (memcheck, --leak-check=full,
# --error-exitcode=1) for a short scripted session that walks through every code path a user can
# reach: each op over the socket, pipelining, supersession, cancel, learn, bad JSON, an over-long
# line, a client that hangs up mid-request, the plain-text fallback, HTTP (ops, health, OpenAI
# completions, 404, 413), SIGHUP (reload while serving) and SIGTERM with a request in flight.
# Checks: every reply arrives, valgrind reports no invalid access and no leak (definite or possible),
# and the daemon exits 0. About 15 s here (valgrind runs the code ~30x slower).
set -u
cd "$(dirname "$0")/../.."
BUILD=${AC_TEST_BUILD:-${BUILD:-build}}
PYTHON=${PYTHON:-/usr/bin/python3}
daemon=$BUILD/bin/autocorrectd
if [ ! -x "$daemon" ]; then echo "SKIP: valgrind_daemon: $daemon is not built"; exit 0; fi
if ! command -v valgrind >/dev/null; then echo "SKIP: valgrind_daemon: valgrind is not installed (scripts/install-deps.sh)"; exit 0; fi
tmp=$(mktemp -d /tmp/test_valgrind_XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
printf '#autocorrect-dictionary\t1\nthe\t500\ncat\t30\nbrown\t20\ndog\t25\nsaw\t10\nquick\t9\n' > "$tmp/dictionary.tsv"
cat > "$tmp/config.toml" <<CFG
model_path = "$(realpath tests/fixtures/tiny)"
dictionary_path = "$tmp/dictionary.tsv"
user_dictionary_path = "$tmp/user.txt"
workers = 2
threads = 1
deadline_ms = 10000
max_line_bytes = 4096
http_enabled = true
http_port = 0
CFG
valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,possible --track-fds=no \
  --log-file="$tmp/valgrind.log" "$daemon" --config "$tmp/config.toml" --socket "$tmp/d.sock" 2> "$tmp/daemon.log" &
pid=$!

PID=$pid SOCK=$tmp/d.sock LOG=$tmp/daemon.log timeout 120 "$PYTHON" - <<'PY'
import json, os, signal, socket, time, urllib.request, urllib.error

sock_path, pid, log = os.environ["SOCK"], int(os.environ["PID"]), os.environ["LOG"]
failed = False

def check(name, ok, why=""):
    global failed
    print(("PASS: %s" % name) if ok else ("FAIL: %s: %s" % (name, why)), flush=True)
    failed |= not ok

def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    s.settimeout(60)
    return s

def session(lines, shut=True):
    """Sends lines on one connection, shuts down the sending side, returns the reply lines."""
    s = connect()
    s.sendall("".join(l + "\n" for l in lines).encode())
    if shut:
        s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    return [json.loads(l) for l in data.decode().splitlines() if l]

deadline = time.time() + 90
while True:
    try:
        if session(['{"op":"health"}'])[0].get("status") == "ok":
            break
    except (OSError, IndexError, ValueError):
        pass
    if time.time() > deadline:
        print("FAIL: valgrind_daemon_start: no answer in 90 s"); raise SystemExit(1)
    time.sleep(0.2)

reqs = [
    '{"id":1,"op":"complete","before":"the quick brown","max_tokens":3}',
    '{"id":2,"op":"correct","before":"I saw teh cat and the brwn dog","complete":true}',
    '{"id":3,"op":"topk","before":"the cat","k":5}',
    '{"id":4,"op":"tokenize","text":"the quick brown fox"}',
    '{"id":5,"op":"detokenize","tokens":[1,2,3,188]}',
    '{"id":6,"op":"learn","words":["valgrindword"]}',
    '{"id":7,"op":"info"}',
    '{"id":8,"op":"complete","before":"x","max_tokens":999}',
    '{bad json',
    '{"id":9,"op":"nope"}',
    '{"id":10,"session":"s","op":"complete","before":"the","max_tokens":4,"logprobs":true,"stop":["x"]}',
    '{"id":11,"session":"s","op":"complete","before":"the cat"}',
    '{"id":12,"op":"complete","before":"the dog","max_tokens":6,"beams":4}',
    '{"id":13,"op":"cancel","target":12}',
    '{"id":14,"op":"cancel","session":"s"}',
]
r = session(reqs)
check("valgrind_every_request_answered", len(r) == len(reqs), "%d replies to %d requests" % (len(r), len(reqs)))
byid = {x.get("id"): x for x in r}
check("valgrind_ops_answered", "completions" in byid.get(1, {}) and "corrections" in byid.get(2, {})
      and "top" in byid.get(3, {}) and "tokens" in byid.get(4, {}) and "text" in byid.get(5, {})
      and byid.get(6, {}).get("learned") == 1 and byid.get(7, {}).get("status") == "ok", json.dumps(r)[:300])
check("valgrind_errors_answered", byid.get(8, {}).get("error", {}).get("code") == "limit"
      and byid.get(9, {}).get("error", {}).get("code") == "unknown_op", json.dumps(r)[:300])

r = session(['{"id":1,"op":"health"}', '{"id":2,"op":"tokenize","text":"' + "a" * 5000 + '"}', '{"id":3,"op":"health"}'])
check("valgrind_too_large_closes", len(r) == 2 and r[1]["error"]["code"] == "too_large", json.dumps(r)[:300])

s = connect()  # hang up with work in flight
s.sendall(b'{"id":1,"op":"complete","before":"the quick brown fox","max_tokens":6,"beams":4}\n')
s.close()

s = connect()  # the plain-text fallback
s.sendall(b"the quick brown\n")
out = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    out += b
check("valgrind_plain_text", out.endswith(b"\n") and len(out.splitlines()) >= 1, repr(out[:200]))

port = session(['{"op":"info"}'])[0]["http"]["port"]
def http(method, path, body=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method,
                                 data=body.encode() if body is not None else None)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
codes = [http("GET", "/health")[0], http("POST", "/v1/complete", '{"before":"the cat","max_tokens":2}')[0],
         http("POST", "/v1/completions", '{"prompt":"the","max_tokens":2,"n":2,"logprobs":1}')[0],
         http("GET", "/nowhere")[0], http("POST", "/v1/tokenize", '{"text":"' + "b" * 5000 + '"}')[0],
         http("POST", "/v1/correct", '{"before":"teh"')[0]]
check("valgrind_http", codes == [200, 200, 200, 404, 413, 400], str(codes))

os.kill(pid, signal.SIGHUP)  # reload while serving
t = time.time() + 60
while time.time() < t and "reloaded" not in open(log).read():
    session(['{"id":1,"op":"complete","before":"the"}'])
check("valgrind_sighup_reload", "reloaded" in open(log).read(), "no 'reloaded' in the log")

s = connect()  # SIGTERM with a request in flight: it is answered, then the daemon exits
s.sendall(b'{"id":77,"op":"complete","before":"the quick brown fox","max_tokens":6,"beams":4}\n')
time.sleep(0.05)
os.kill(pid, signal.SIGTERM)
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
check("valgrind_sigterm_answers_in_flight", b'"id":77' in data, repr(data[:200]))
raise SystemExit(1 if failed else 0)
PY
status=$?
st=0; wait "$pid" || st=$?
pid=
summary=$(grep -E "ERROR SUMMARY|definitely lost|possibly lost|in use at exit" "$tmp/valgrind.log" | sed 's/^==[0-9]*== *//' | tr '\n' ';')
if [ "$st" = 0 ] && grep -q "ERROR SUMMARY: 0 errors" "$tmp/valgrind.log"; then
  echo "PASS: valgrind_daemon_clean: $summary"
else
  echo "FAIL: valgrind_daemon_clean: exit status $st; $summary"
  grep -A12 -E "Invalid|uninitialised|definitely lost in|possibly lost in" "$tmp/valgrind.log" | head -60
  status=1
fi
exit $status
