#!/usr/bin/env bash
# HTTP faults and access rules against the real autocorrectd (tiny fixture model). Complements the
# HTTP checks of tests/server/test_daemon.c (endpoints, 404/405/413, a token on GET /health and on
# /v1/completions, 0.0.0.0 without a token refused), adding:
#   - binding: on by config only, loopback (127.0.0.1) by default and not reachable on the
#     machine's other addresses; "::", "0.0.0.0" and "::ffff:127.0.0.1" refused without http_token;
#     127.0.0.2 (loopback) accepted
#   - the token on every endpoint and method, and near-miss tokens (no scheme, wrong case, a prefix,
#     a longer one, an extra space): 401; an over-limit body without the token is never served
#   - browsers: without a token, a request that carries an Origin header (cross-site POST, CSRF) or
#     a Host that is not a loopback name (DNS rebinding) is refused with 403
#   - bodies: exactly max_line_bytes accepted, one byte more 413, chunked over the limit 413, a
#     Content-Length of a terabyte with 8 MB sent (memory stays bounded), 100 KB of headers, a
#     slowloris-style stalled request (others still served), a garbage request line; the daemon
#     stays up and answers after each.
set -u
cd "$(dirname "$0")/../.."
BUILD=${AC_TEST_BUILD:-${BUILD:-build}}
PYTHON=${PYTHON:-/usr/bin/python3}
daemon=$(realpath "$BUILD/bin/autocorrectd" 2>/dev/null)
if [ ! -x "$daemon" ]; then echo "SKIP: faults_http: $BUILD/bin/autocorrectd is not built"; exit 0; fi
tiny=$(realpath tests/fixtures/tiny)
tmp=$(mktemp -d /tmp/test_faults_http_XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
fail=0
pass() { echo "PASS: $1"; }
failed() { echo "FAIL: $1: $2"; fail=1; }
printf '#autocorrect-dictionary\t1\nthe\t500\ncat\t30\n' > "$tmp/dictionary.tsv"
config() { # name, extra lines
  printf 'model_path = "%s"\ndictionary_path = "%s/dictionary.tsv"\nuser_dictionary_path = "%s/user.txt"\nworkers = 2\nthreads = 1\nmax_line_bytes = 4096\nhttp_enabled = true\nhttp_port = 0\n%s\n' \
    "$tiny" "$tmp" "$tmp" "$2" > "$tmp/$1.toml"
}

# refused at startup without a token
for a in "::" "0.0.0.0" "::ffff:127.0.0.1"; do
  config refuse "http_address = \"$a\""
  timeout 20 "$daemon" --config "$tmp/refuse.toml" --socket "$tmp/refuse.sock" > "$tmp/refuse.log" 2>&1; st=$?
  [ $st = 1 ] && grep -q "http_token" "$tmp/refuse.log" && pass "http_refuses_${a//[:.]/_}_without_token" \
    || failed "http_refuses_${a//[:.]/_}_without_token" "status $st: $(head -c 200 "$tmp/refuse.log")"
done

port_of() { # name: waits for the daemon's answer, sets $port to its HTTP port
  port=
  for _ in $(seq 100); do
    out=$(echo '{"op":"info"}' | timeout 5 nc -N -U "$tmp/$1.sock" 2>/dev/null)
    port=$(echo "$out" | grep -o '"http":{[^}]*"port":[0-9]*' | grep -o '[0-9]*$')
    [ -n "$port" ] && return 0
    sleep 0.1
  done
  return 1
}
config open ""
config token 'http_address = "0.0.0.0"
http_token = "s3cret"'
config lo2 'http_address = "127.0.0.2"'
for n in open token lo2; do
  "$daemon" --config "$tmp/$n.toml" --socket "$tmp/$n.sock" > /dev/null 2> "$tmp/$n.log" &
  pids+=($!)
done
config_ports=()
for n in open token lo2; do
  port_of $n || failed "http_start_$n" "no HTTP port: $(tail -2 "$tmp/$n.log")"
  config_ports+=("${port:-0}")
done
p_open=${config_ports[0]} p_token=${config_ports[1]} p_lo2=${config_ports[2]}
grep -q "HTTP on 127.0.0.1:" "$tmp/open.log" && pass http_default_loopback || failed http_default_loopback "$(grep HTTP "$tmp/open.log")"

OPEN=$p_open TOKEN=$p_token LO2=$p_lo2 PID=${pids[0]} timeout 180 "$PYTHON" - <<'PY'
import os, select, socket, subprocess, time

p_open, p_token, p_lo2 = int(os.environ["OPEN"]), int(os.environ["TOKEN"]), int(os.environ["LO2"])
pid_open = int(os.environ["PID"])
failed = False

def check(name, ok, why=""):
    global failed
    print(("PASS: %s" % name) if ok else ("FAIL: %s: %s" % (name, why)), flush=True)
    failed |= not ok

def raw(port, data, host="127.0.0.1", read=True, timeout=20):
    """Sends raw bytes, returns (status, whole reply); status 0 when the connection closed without one."""
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while read:
            try:
                b = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not b:
                break
            out += b
    finally:
        s.close()
    try:
        return int(out.split(b" ", 2)[1]), out
    except (IndexError, ValueError):
        return 0, out

def req(port, method, path, body=None, headers=(), host_header="127.0.0.1", connect="127.0.0.1"):
    h = "%s %s HTTP/1.1\r\n" % (method, path)
    if host_header is not None:
        h += "Host: %s:%d\r\n" % (host_header, port) if ":" not in host_header else "Host: %s\r\n" % host_header
    for x in headers:
        h += x + "\r\n"
    b = body.encode() if isinstance(body, str) else (body or b"")
    if body is not None:
        h += "Content-Length: %d\r\n" % len(b)
    return raw(port, h.encode() + b"\r\n" + b, host=connect)[0]

def alive(port, headers=()):
    return req(port, "GET", "/health", headers=headers) == 200

# the default binding is loopback only: not reachable on this machine's other addresses
addrs = [a for a in subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
         if ":" not in a and not a.startswith("127.")]
reached = []
for a in addrs:
    try:
        socket.create_connection((a, p_open), timeout=2).close()
        reached.append(a)
    except OSError:
        pass
if addrs:
    check("http_default_not_on_other_addresses", not reached, "reachable on %s" % reached)
else:
    print("SKIP: http_default_not_on_other_addresses: this machine has no non-loopback IPv4 address")
check("http_loopback_127_0_0_2_accepted", req(p_lo2, "GET", "/health", host_header="127.0.0.2", connect="127.0.0.2") == 200)

# the token: every endpoint, near misses
auth = "Authorization: Bearer s3cret"
endpoints = [("GET", "/health", None), ("GET", "/v1/info", None), ("POST", "/v1/complete", '{"before":"the"}'),
             ("POST", "/", '{"op":"tokenize","text":"a"}'), ("POST", "/v1/learn", '{"word":"tokenword"}'),
             ("POST", "/v1/cancel", '{"session":"s"}'), ("POST", "/v1/completions", '{"prompt":"the"}'),
             ("GET", "/nowhere", None), ("DELETE", "/v1/complete", None)]
without = [req(p_token, m, p, b) for m, p, b in endpoints]
check("http_token_every_endpoint", all(s == 401 for s in without), str(without))
withtok = [req(p_token, m, p, b, (auth,)) for m, p, b in endpoints]
check("http_token_accepted", withtok[:7] == [200] * 7 and withtok[7] == 404 and withtok[8] == 405, str(withtok))
near = ["Authorization: s3cret", "Authorization: bearer s3cret", "Authorization: Bearer s3cre",
        "Authorization: Bearer s3cretX", "Authorization: Bearer  s3cret", "Authorization: Basic czNjcmV0",
        "Authorization: Bearer", "Authorization:"]
codes = [req(p_token, "GET", "/health", headers=(h,)) for h in near]
check("http_token_near_misses", all(c == 401 for c in codes), str(codes))
st = req(p_token, "POST", "/v1/complete", '{"before":"' + "x" * 10000 + '"}')
check("http_token_big_body_unauthenticated", st in (401, 413), "status %d" % st)

# browsers: no token -> a request with an Origin header, or a Host that is not loopback, is refused
csrf = req(p_open, "POST", "/v1/learn", '{"word":"csrfword"}', ("Origin: http://evil.example", "Content-Type: text/plain"))
rebind = req(p_open, "GET", "/v1/info", host_header="evil.example")
rebind_post = req(p_open, "POST", "/v1/complete", '{"before":"the"}', host_header="attacker.test")
okhosts = [req(p_open, "GET", "/health", host_header=h) for h in ("127.0.0.1", "localhost", "[::1]")]
nohost = req(p_open, "GET", "/health", host_header=None)
check("http_browser_origin_refused", csrf == 403, "POST /v1/learn with Origin: %d" % csrf)
check("http_dns_rebinding_refused", rebind == 403 and rebind_post == 403, "%d %d" % (rebind, rebind_post))
check("http_loopback_hosts_accepted", okhosts == [200, 200, 200], str(okhosts))
with_token_origin = req(p_token, "POST", "/v1/complete", '{"before":"the"}', (auth, "Origin: http://app.example"),
                        host_header="my-host.example")
check("http_token_allows_origin_and_host", with_token_origin == 200, str(with_token_origin))

# bodies at and over the limit (max_line_bytes 4096)
def body_of(n):
    pre, post = '{"op":"tokenize","text":"', '"}'
    return pre + "a" * (n - len(pre) - len(post)) + post
at, over = req(p_open, "POST", "/", body_of(4096)), req(p_open, "POST", "/", body_of(4097))
check("http_body_limit_exact", at == 200 and over == 413, "4096 bytes: %d, 4097 bytes: %d" % (at, over))
chunks = b"".join(b"%x\r\n%s\r\n" % (1000, b"a" * 1000) for _ in range(6)) + b"0\r\n\r\n"
st, _ = raw(p_open, b"POST /v1/tokenize HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks)
check("http_chunked_over_limit", st == 413, "status %d" % st)

def rss_mb(pid):
    for l in open("/proc/%d/status" % pid):
        if l.startswith("VmRSS:"):
            return int(l.split()[1]) / 1024
rss0 = rss_mb(pid_open)
s = socket.create_connection(("127.0.0.1", p_open), timeout=20)
s.sendall(b"POST /v1/tokenize HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000000000\r\n\r\n")
sent = 0
try:
    while sent < 8 << 20:
        sent += s.send(b"b" * 65536)
except OSError:
    pass
rss1 = rss_mb(pid_open)
s.close()
check("http_huge_content_length", rss1 - rss0 < 32 and alive(p_open),
      "RSS %.1f -> %.1f MB after %d bytes of a 1 TB body" % (rss0, rss1, sent))

st, _ = raw(p_open, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Pad: " + b"p" * 100000 + b"\r\n\r\n")
check("http_huge_headers", st in (0, 400, 413, 431) and alive(p_open), "status %d" % st)
st, _ = raw(p_open, b"\x00\xff GARBAGE /\x01 HTTP/9.9\r\n\r\n")
check("http_garbage_request_line", st in (0, 400, 505) and alive(p_open), "status %d" % st)

# slowloris: a few connections stall inside their headers; others are still served at once
stalled = []
for i in range(8):
    c = socket.create_connection(("127.0.0.1", p_open), timeout=5)
    c.sendall(b"POST /v1/complete HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
    stalled.append(c)
t = time.time()
ok = alive(p_open)
took = time.time() - t
for c in stalled:
    c.close()
check("http_stalled_connections", ok and took < 2, "health took %.2f s" % took)
check("http_alive_at_the_end", alive(p_open) and alive(p_token, (auth,)))
raise SystemExit(1 if failed else 0)
PY
[ $? = 0 ] || fail=1
for p in "${pids[@]}"; do
  kill -TERM "$p"; st=0; wait "$p" || st=$?
  [ "$st" = 0 ] || failed http_daemon_exit_0 "pid $p exit status $st"
done
pids=()
exit $fail
