#!/usr/bin/env bash
# Faults against the real autocorrectd and the tiny fixture model: each has a defined behaviour.
#
# At startup, a clear message and exit status 1 (and no socket file left behind): model directory
# missing or empty, model.onnx truncated or random bytes, model.safetensors truncated, tokenizer
# missing or corrupt, dictionary corrupt, a config with a syntax error / a bad value / a wrong type,
# the socket's directory missing or not writable, $XDG_RUNTIME_DIR missing, the /tmp fallback
# directory with the wrong mode (or owner, as root).
# While running, a clear error reply (or the defined close) and the daemon alive, serving others:
# out-of-range and wrong-typed numbers and fields (negative, zero, huge, overflowing, NaN/Infinity
# literals, strings for numbers), a client that sends half a line and stalls (others are served; its
# request is answered when the line ends; SIGTERM does not wait for it), a client that hangs up
# mid-reply with megabytes of replies queued, a client that floods requests without reading its
# replies, a flood of connections over max_clients, learn with an unwritable user dictionary, and
# SIGHUP with a broken model (the old model keeps serving).
# Already covered elsewhere and not repeated here: a stale socket, a live daemon, a symlink or a file
# at the socket path, SIGTERM during a request, oversized lines, bad JSON, disconnects during a
# request (tests/server/test_daemon.c); HTTP faults are in tests/sh/test_faults_http.sh.
set -u
cd "$(dirname "$0")/../.."
BUILD=${AC_TEST_BUILD:-${BUILD:-build}}
PYTHON=${PYTHON:-/usr/bin/python3}
daemon=$(realpath "$BUILD/bin/autocorrectd" 2>/dev/null)
if [ ! -x "$daemon" ]; then echo "SKIP: faults: $BUILD/bin/autocorrectd is not built"; exit 0; fi
tiny=$(realpath tests/fixtures/tiny)
tmp=$(mktemp -d /tmp/test_faults_XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; chmod -R u+rwx "$tmp" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail=0
pass() { echo "PASS: $1"; }
failed() { echo "FAIL: $1: $2"; fail=1; }

printf '#autocorrect-dictionary\t1\nthe\t500\ncat\t30\nbrown\t20\ndog\t25\n' > "$tmp/dictionary.tsv"
base_config() { # model dir, then extra lines
  printf 'model_path = "%s"\ndictionary_path = "%s/dictionary.tsv"\nuser_dictionary_path = "%s/user.txt"\nworkers = 2\nthreads = 1\n%s\n' \
    "$1" "$tmp" "$tmp" "${2:-}"
}

# startup NAME EXPECTED_MESSAGE CONFIG_TEXT [DAEMON ARGS...]: exit 1 with the message, no socket left
startup() {
  local name=$1 want=$2 cfg=$3; shift 3
  printf '%s\n' "$cfg" > "$tmp/$name.toml"
  local sock=$tmp/$name.sock
  local args=(--config "$tmp/$name.toml")
  [ $# -gt 0 ] && args+=("$@") || args+=(--socket "$sock")
  timeout 30 "$daemon" "${args[@]}" > "$tmp/$name.log" 2>&1
  local st=$?
  if [ $st = 1 ] && grep -q -- "$want" "$tmp/$name.log" && [ ! -e "$sock" ]; then
    pass "startup_$name"
  else
    failed "startup_$name" "exit status $st (want 1), message: $(tr '\n' ' ' < "$tmp/$name.log" | cut -c1-250) (want: $want)"
  fi
}

# --- models --------------------------------------------------------------------------------------
mk() { mkdir -p "$tmp/$1"; }
mk empty
mk trunc_onnx; head -c 100000 "$tiny/model.onnx" > "$tmp/trunc_onnx/model.onnx"; cp "$tiny/vocab.json" "$tiny/merges.txt" "$tmp/trunc_onnx/"
mk random_onnx; head -c 60000 /dev/urandom > "$tmp/random_onnx/model.onnx"; cp "$tiny/vocab.json" "$tiny/merges.txt" "$tmp/random_onnx/"
mk trunc_st; cp "$tiny/config.json" "$tiny/vocab.json" "$tiny/merges.txt" "$tmp/trunc_st/"; head -c 70000 "$tiny/model.safetensors" > "$tmp/trunc_st/model.safetensors"
mk no_tokenizer; cp "$tiny/model.onnx" "$tmp/no_tokenizer/"
mk bad_vocab; cp "$tiny/model.onnx" "$tiny/merges.txt" "$tmp/bad_vocab/"; head -c 1000 "$tiny/vocab.json" > "$tmp/bad_vocab/vocab.json"
startup model_missing "no such file" "$(base_config "$tmp/nowhere")"
startup model_dir_empty "holds neither model.onnx nor model.safetensors" "$(base_config "$tmp/empty")"
startup model_truncated_onnx "truncated or not ONNX" "$(base_config "$tmp/trunc_onnx")"
startup model_random_bytes "not a valid ONNX model" "$(base_config "$tmp/random_onnx")"
startup model_truncated_safetensors "model.safetensors" "$(base_config "$tmp/trunc_st")"
startup tokenizer_missing "no tokenizer" "$(base_config "$tmp/no_tokenizer")"
startup tokenizer_corrupt "vocab.json" "$(base_config "$tmp/bad_vocab")"
printf '#autocorrect-dictionary\t7\nthe\t1\n' > "$tmp/bad_dict.tsv"
startup dictionary_corrupt "dictionary" "$(base_config "$tiny" "dictionary_path = \"$tmp/bad_dict.tsv\"")"

# --- config --------------------------------------------------------------------------------------
startup config_syntax "config_syntax.toml:6" "$(base_config "$tiny" 'beam_width = = 3')"
startup config_bad_value "key 'max_tokens'" "$(base_config "$tiny" 'max_tokens = -5')"
startup config_wrong_type "key 'beam_width'" "$(base_config "$tiny" 'beam_width = "two"')"
startup config_missing "missing.toml" "" --config "$tmp/missing.toml" --socket "$tmp/x.sock"

# --- the socket's directory ----------------------------------------------------------------------
good=$(base_config "$tiny")
startup socket_dir_missing "cannot bind" "$good" --socket "$tmp/no/such/dir/d.sock"
if [ "$(id -u)" = 0 ]; then
  ro=/sys/autocorrect-test-$$.sock          # root may write anywhere but sysfs
else
  mkdir -p "$tmp/ro"; chmod 0500 "$tmp/ro"; ro=$tmp/ro/d.sock
fi
startup socket_dir_not_writable "cannot bind" "$good" --socket "$ro"
printf '%s\n' "$good" > "$tmp/env.toml"
XDG_RUNTIME_DIR=$tmp/no-runtime-dir timeout 30 "$daemon" --config "$tmp/env.toml" > "$tmp/xdg.log" 2>&1; st=$?
[ $st = 1 ] && grep -q "cannot bind $tmp/no-runtime-dir/autocorrect.sock" "$tmp/xdg.log" && pass startup_xdg_runtime_dir_missing \
  || failed startup_xdg_runtime_dir_missing "status $st: $(head -c 250 "$tmp/xdg.log")"
mkdir -p "$tmp/t/autocorrect-$(id -u)"; chmod 0755 "$tmp/t/autocorrect-$(id -u)"
env -u XDG_RUNTIME_DIR TMPDIR="$tmp/t" timeout 30 "$daemon" --config "$tmp/env.toml" > "$tmp/mode.log" 2>&1; st=$?
[ $st = 1 ] && grep -q "0700" "$tmp/mode.log" && pass startup_socket_dir_wrong_mode \
  || failed startup_socket_dir_wrong_mode "status $st: $(head -c 250 "$tmp/mode.log")"
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
  chmod 0700 "$tmp/t/autocorrect-0"; chown nobody "$tmp/t/autocorrect-0"
  env -u XDG_RUNTIME_DIR TMPDIR="$tmp/t" timeout 30 "$daemon" --config "$tmp/env.toml" > "$tmp/owner.log" 2>&1; st=$?
  [ $st = 1 ] && grep -q "belongs to uid" "$tmp/owner.log" && pass startup_socket_dir_wrong_owner \
    || failed startup_socket_dir_wrong_owner "status $st: $(head -c 250 "$tmp/owner.log")"
else
  echo "SKIP: startup_socket_dir_wrong_owner: needs root to make a directory owned by someone else"
fi

# --- nothing typed reaches the log with --verbose, even from a malformed request -------------------
printf '%s\n' "$(base_config "$tiny")" > "$tmp/verbose.toml"
"$daemon" --config "$tmp/verbose.toml" --socket "$tmp/verbose.sock" --verbose 2> "$tmp/verbose.log" &
pid=$!
for _ in $(seq 100); do echo '{"op":"health"}' | timeout 5 nc -N -U "$tmp/verbose.sock" 2>/dev/null | grep -q '"ok"' && break; sleep 0.1; done
printf '%s\n' '{"id":1,"op":"complete","before":secretwordone}' '{"id":2,"op":"secretwordtwo"}' \
  '{"id":3,"op":"complete","before":"secretwordthree","stop_rule":"secretwordfour"}' '{"id":4,"secretwordfive' \
  | timeout 10 nc -N -U "$tmp/verbose.sock" > /dev/null
echo "secretwordsix" | timeout 10 nc -U "$tmp/verbose.sock" > /dev/null
kill -TERM "$pid"; wait "$pid"; pid=
if grep -q "secretword" "$tmp/verbose.log"; then
  failed verbose_log_has_no_typed_text "$(grep secretword "$tmp/verbose.log" | head -2 | cut -c1-200)"
elif grep -q "refused a" "$tmp/verbose.log"; then
  pass verbose_log_has_no_typed_text
else
  failed verbose_log_has_no_typed_text "the verbose log does not mention the refused requests"
fi

# --- while running ---------------------------------------------------------------------------------
mkdir -p "$tmp/udir"
base_config "$tiny" "max_line_bytes = 65536
max_clients = 16
user_dictionary_path = \"$tmp/udir/user.txt\"" | grep -v "^user_dictionary_path = \"$tmp/user.txt\"" > "$tmp/run.toml"
"$daemon" --config "$tmp/run.toml" --socket "$tmp/run.sock" 2> "$tmp/run.log" &
pid=$!
PID=$pid SOCK=$tmp/run.sock TMP=$tmp LOG=$tmp/run.log timeout 240 "$PYTHON" - <<'PY'
import json, os, select, signal, socket, sys, time, traceback

sock_path, pid, tmp, log = os.environ["SOCK"], int(os.environ["PID"]), os.environ["TMP"], os.environ["LOG"]
failed = False

def report_crash(kind, value, tb):
    """An unexpected exception is a failure with a FAIL line that says where, not a bare exit 1."""
    traceback.print_exception(kind, value, tb)
    where = traceback.extract_tb(tb)[-1].lineno if tb else 0
    print("FAIL: faults_unexpected_error: %s: %s (script line %d)" % (kind.__name__, value, where), flush=True)
sys.excepthook = report_crash

def check(name, ok, why=""):
    global failed
    print(("PASS: %s" % name) if ok else ("FAIL: %s: %s" % (name, why)), flush=True)
    failed |= not ok

def connect(timeout=10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    s.settimeout(timeout)
    return s

class Conn:
    def __init__(self):
        self.s, self.buf = connect(), b""
    def send(self, line):
        self.s.sendall(line.encode() + b"\n")
    def reply(self):
        while b"\n" not in self.buf:
            b = self.s.recv(65536)
            if not b:
                raise EOFError("closed")
            self.buf += b
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)
    def call(self, line):
        self.send(line)
        return self.reply()
    def close(self):
        self.s.close()

def health_ms():
    t = time.time()
    c = Conn()
    r = c.call('{"id":1,"op":"health"}')
    c.close()
    return (time.time() - t) * 1000 if r.get("status") == "ok" else 1e9

def daemon_exited():
    """True once the daemon is gone or a zombie. bash reaps it as soon as it exits (even while this
    script runs in the foreground), so /proc/PID can vanish between any two looks at it."""
    try:
        return open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True

def rss_mb():
    for l in open("/proc/%d/status" % pid):
        if l.startswith("VmRSS:"):
            return int(l.split()[1]) / 1024
    return -1

deadline = time.time() + 30
while True:
    try:
        if health_ms() < 1e9:
            break
    except OSError:
        time.sleep(0.1)
    if time.time() > deadline:
        print("FAIL: faults_daemon_start: no answer"); raise SystemExit(1)

# out-of-range and wrong-typed values: an error reply with a code and a message, the connection stays
cases = [
    ('"max_tokens":-1', "bad_request"), ('"max_tokens":0', "bad_request"), ('"max_tokens":1e300', "bad_request"),
    ('"max_tokens":99999999999999999999', "bad_json"), ('"max_tokens":9223372036854775807', "limit"),
    ('"max_tokens":"6"', "bad_request"), ('"max_tokens":NaN', "bad_json"), ('"max_tokens":Infinity', "bad_json"),
    ('"max_tokens":1e999', "bad_json"), ('"max_tokens":-0.0', "bad_request"), ('"max_tokens":true', "bad_request"),
    ('"beams":-3', "bad_request"), ('"beams":17', "limit"), ('"n":0', "bad_request"), ('"n":[1]', "bad_request"),
    ('"deadline_ms":0', "bad_request"), ('"deadline_ms":2147483648', "limit"), ('"deadline_ms":-2147483649', "bad_request"),
    ('"min_score":"low"', "bad_request"), ('"stop":[""]', "bad_request"), ('"stop":["a","b","c","d","e"]', "limit"),
    ('"stop":{"a":1}', "bad_request"), ('"stop_rule":"sentence"', "bad_request"), ('"logprobs":1', "bad_request"),
    ('"cache":"yes"', "bad_request"), ('"session":42', "bad_request"), ('"session":"%s"' % ("s" * 200), "limit"),
    ('"scope":"some"', "bad_request"), ('"last_words":65', "limit"), ('"last_words":0', "bad_request"),
    ('"before":null', "bad_request"), ('"before":7', "bad_request"), ('"after":["x"]', "bad_request"),
    ('"mid_text":"no"', "bad_request"), ('"correct":0', "bad_request"),
]
c = Conn()
bad = []
for i, (field, code) in enumerate(cases):
    before = '' if '"before"' in field else '"before":"the cat",'
    r = c.call('{"id":%d,"op":"complete",%s%s}' % (i, before, field))
    err = r.get("error") or {}
    if err.get("code") != code or not err.get("message") or (code != "bad_json" and r.get("id") != i):
        bad.append("%s -> %s" % (field[:40], json.dumps(r)[:160]))
other = [
    ('{"id":100,"op":"topk","before":"a","k":0}', "bad_request"), ('{"id":101,"op":"topk","before":"a","k":1001}', "limit"),
    ('{"id":102,"op":"topk","before":"a","k":2.5}', "bad_request"),
    ('{"id":103,"op":"detokenize","tokens":[-1]}', "bad_request"),
    ('{"id":104,"op":"detokenize","tokens":[2147483648]}', "bad_request"),
    ('{"id":105,"op":"detokenize","tokens":[999999]}', "bad_request"),
    ('{"id":106,"op":"detokenize","tokens":[1.0]}', "bad_request"),
    ('{"id":107,"op":"detokenize","tokens":"1 2"}', "bad_request"),
    ('{"id":108,"op":"tokenize","text":12}', "bad_request"),
    ('{"id":109,"op":"learn","words":[]}', "bad_request"),
    ('{"id":110,"op":"learn","words":%s}' % json.dumps(["w%d" % i for i in range(1001)]), "limit"),
    ('{"id":111,"op":"learn","word":"two words"}', "bad_request"),
    ('{"id":112,"op":"learn","word":"%s"}' % ("x" * 101), "bad_request"),
    ('{"id":113,"op":"cancel"}', "bad_request"), ('{"id":114,"op":"cancel","target":{"x":1}}', "bad_request"),
    ('{"id":{"x":1},"op":"health"}', "bad_request"), ('{"id":115,"op":7}', "bad_request"),
    ('{"id":116}', "bad_request"), ('"a string"', "bad_json"), ('{"id":117,"op":"complete","before":"\\ud800"}', "bad_json"),
]
for line, code in other:
    r = c.call(line)
    err = r.get("error") or {}
    if err.get("code") != code or not err.get("message"):
        bad.append("%s -> %s" % (line[:50], json.dumps(r)[:160]))
r = c.call('{"id":999,"op":"health"}')
check("faults_out_of_range_values", not bad and r.get("status") == "ok", "; ".join(bad[:6]))
# a reply echoes a real-number id exactly (replies used to write every real, the id included, with 6
# significant digits: fuzz_protocol found it; fixed in src/server/protocol.c)
r = c.call('{"id":1767000000.125,"op":"health"}')
check("faults_real_id_echoed_exactly", r.get("id") == 1767000000.125, "a real id came back as %s" % r.get("id"))
c.close()

# half a line, then a stall: others are served meanwhile; the line is answered when it ends
stall = connect()
stall.sendall(b'{"id":1,"op":"toke')
time.sleep(0.3)
ms = max(health_ms() for _ in range(5))
stall.sendall(b'nize","text":"the cat"}\n')
r = json.loads(stall.recv(65536).split(b"\n")[0])
check("faults_half_line_stall", ms < 1000 and r.get("id") == 1 and "tokens" in r, "health took %.0f ms; %s" % (ms, r))
stall.close()

# hang up mid-reply: megabytes of replies queued, read 1 KB, close
c = connect()
c.sendall(b"".join(b'{"id":%d,"op":"topk","before":"the","k":1000}\n' % i for i in range(120)))
got = c.recv(1024)
c.close()
time.sleep(0.2)
t = time.time()
idle = False
while time.time() - t < 10:
    x = Conn()
    info = x.call('{"id":1,"op":"info"}')
    x.close()
    if info.get("queued") == 0 and info.get("running") == 0:
        idle = True
        break
    time.sleep(0.1)
check("faults_hang_up_mid_reply", len(got) > 0 and idle and health_ms() < 1000, "queue never drained: %s" % info)

# flood without reading replies: the daemon stops reading, others stay served, memory stays bounded
rss0 = rss_mb()
f = connect()
f.setblocking(False)
line = b'{"id":1,"op":"info"}\n' * 256
sent, t, stuck_since = 0, time.time(), None
while time.time() - t < 8:
    _, w, _ = select.select([], [f], [], 0.2)
    if not w:
        stuck_since = stuck_since or time.time()
        if time.time() - stuck_since > 1.5:
            break  # the daemon stopped reading from us: back-pressure works
        continue
    stuck_since = None
    try:
        sent += f.send(line)
    except BlockingIOError:
        pass
    except OSError:
        break  # disconnected: also a defined outcome (over 64 MiB unread)
ms = max(health_ms() for _ in range(5))
rss1 = rss_mb()
f.close()
check("faults_flood_without_reading", ms < 1000 and rss1 - rss0 < 200,
      "health %.0f ms during the flood; RSS %.0f -> %.0f MB after %d bytes sent" % (ms, rss0, rss1, sent))

# a flood of connections over max_clients (16): the extra ones get too_many_clients, then service resumes
conns, refused = [], 0
for i in range(40):
    try:
        s = connect(2)
        conns.append(s)
    except OSError:
        refused += 1
time.sleep(0.3)
too_many = 0
for s in conns:
    try:
        s.setblocking(False)
        data = s.recv(4096)
        if b"too_many_clients" in data:
            too_many += 1
    except (BlockingIOError, OSError):
        pass
for s in conns:
    s.close()
time.sleep(0.3)
check("faults_connection_flood", too_many + refused >= 40 - 16 and health_ms() < 1000,
      "%d refused, %d too_many_clients replies of 40" % (refused, too_many))

# learn when the user dictionary cannot be written (its directory became a file): an error reply,
# everything else goes on
cfg = open(os.path.join(tmp, "run.toml")).read()
c = Conn()
r0 = c.call('{"id":1,"op":"learn","word":"faultword"}')
udir = os.path.join(tmp, "udir")
os.unlink(os.path.join(udir, "user.txt"))
os.rmdir(udir)
open(udir, "w").close()
r = c.call('{"id":2,"op":"learn","word":"otherword"}')
r2 = c.call('{"id":3,"op":"complete","before":"the cat","max_tokens":2}')
check("faults_learn_unwritable", r0.get("learned") == 1 and (r.get("error") or {}).get("message")
      and "completions" in r2, "%s / %s / %s" % (json.dumps(r0)[:100], json.dumps(r)[:200], json.dumps(r2)[:100]))

# SIGHUP with a broken model: the reload fails, the old model keeps serving
broken = os.path.join(tmp, "trunc_onnx")
open(os.path.join(tmp, "run.toml"), "w").write(cfg.replace(cfg.split("\n")[0], 'model_path = "%s"' % broken))
os.kill(pid, signal.SIGHUP)
t = time.time()
while time.time() - t < 20 and "reload failed" not in open(log).read():
    time.sleep(0.1)
r = c.call('{"id":4,"op":"complete","before":"the cat","max_tokens":2}')
check("faults_sighup_broken_model", "reload failed" in open(log).read() and "completions" in r, json.dumps(r)[:200])
c.close()

# SIGTERM while a client stalls on half a line: the daemon does not wait for it
stall = connect()
stall.sendall(b'{"id":1,"op":"hea')
time.sleep(0.1)
t = time.time()
os.kill(pid, signal.SIGTERM)
while time.time() - t < 15 and not daemon_exited():
    time.sleep(0.05)
took = time.time() - t
check("faults_sigterm_with_stalled_client", took < 3, "the daemon took %.1f s to exit" % took)
stall.close()
raise SystemExit(1 if failed else 0)
PY
if [ $? != 0 ]; then
  fail=1
  kill -TERM "$pid" 2>/dev/null   # the script may have stopped before its own SIGTERM: do not wait forever
fi
st=0; wait "$pid" || st=$?
pid=
[ "$st" = 0 ] && pass faults_daemon_exit_0 || failed faults_daemon_exit_0 "status $st; $(tail -3 "$tmp/run.log" | tr '\n' ' ')"
exit $fail
