#!/usr/bin/env bash
# bench_roofline.sh: the roofline report (a report, not a test): this machine's memory bandwidth and
# peak multiply-add rate (bench_roofline --machine), and, for GPT-2-124M-shaped and default-model-
# shaped random models (bench/make_models.py via bench/lib.sh: gpt2-124m, d320x6 = the default
# model's shape, d256x4 = the CPU recipe's),
# the share of those limits the engine reaches, beside ONNX Runtime (onnxruntime-node) on the same
# model.onnx with the same thread count, all in one run:
#   decoding   one token with the KV cache after a 128-token prompt: bytes of weights read per token
#              / time, against the bandwidth (C float32 and int8; ORT: model_past.onnx, float32)
#   prefill    128 tokens: 2 * multiply-adds / time against the peak (bench_roofline.c documents
#              the counts). C with the logits of the last position (what the daemon runs) and of
#              every position (the same work as ORT's no-cache model.onnx); the ORT / C ratio is on
#              that same work.
# (OpenBLAS's sgemm beside our float32 kernel: bench_roofline with no arguments, which make bench
# runs too.) The machines are shared and noisy:
# every share is against limits measured in the same run, just before the models of that thread
# count. Options (environment): ROOFLINE_MODELS="gpt2-124m d320x6 d256x4", ROOFLINE_THREADS="1 2",
# BENCH_ORT=0 (no ORT columns).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PY=${PYTHON:-/usr/bin/python3}
MODELS=${ROOFLINE_MODELS:-"gpt2-124m d320x6 d256x4"}
THREADS=${ROOFLINE_THREADS:-"1 2"}
BIN=$BUILD/bench/bench_roofline
out=$(mktemp)
trap 'rm -f "$out"' EXIT

[ -x "$BIN" ] || { echo "bench_roofline.sh: $BIN is missing (make bench)"; exit 1; }
. bench/lib.sh
bench_models_make bench_roofline.sh $MODELS || exit 1
ort=1
bench_ort_ready bench_roofline.sh || ort=0

for t in $THREADS; do
  line=$("$BIN" --machine --threads "$t") || exit 1
  echo "{\"machine\":$line}" >> "$out"
  for m in $MODELS; do
    dir=$BUILD/bench-models/$m
    reps=$(bench_reps "$m")
    for q in "" --int8; do
      # shellcheck disable=SC2086
      line=$("$BIN" --model "$dir/model.onnx" --threads "$t" --reps $reps $q) || exit 1
      echo "{\"name\":\"$m\",\"c\":$line}" >> "$out"
    done
    if [ $ort = 1 ]; then
      line=$(node bench/ort_bench.js "$dir" --threads "$t" --reps $reps --window 128 --decode 32) || exit 1
      echo "{\"name\":\"$m\",\"threads\":$t,\"ort\":$line}" >> "$out"
    fi
  done
done

"$PY" - "$out" <<'PYEOF'
import json, sys
machine, rows, order = {}, {}, []
for line in open(sys.argv[1]):
    o = json.loads(line)
    if "machine" in o:
        machine[o["machine"]["threads"]] = o["machine"]
        continue
    t = o["c"]["threads"] if "c" in o else o["threads"]
    key = (o["name"], t)
    if key not in rows:
        order.append(key)
    r = rows.setdefault(key, {})
    if "c" in o:
        r[o["c"]["quant"]] = o["c"]
    else:
        r["ort"] = o["ort"]

def pct(x): return "%.0f%%" % (100 * x)
def ms(x): return "%.2f" % x if x is not None else "-"

for t, mc in sorted(machine.items()):
    print("threads %d: memory bandwidth %.1f GB/s (read of %d MB), peak %.0f GFLOP/s (%s FMA loop; one core %.0f)"
          % (t, mc["bw_gbs"], mc["buffer_mb"], mc["peak_gflops"], mc["isa"], mc["peak_gflops_1core"]))
print()
print("Decoding one token after 128 (weights read per token / time, against the bandwidth):")
print("| model | threads | f32 MB/token | C f32 ms | GB/s | of BW | int8 MB/token | C int8 ms | GB/s | of BW "
      "| int8 speed-up | ORT f32 ms | GB/s | of BW | ORT / C f32, int8 |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for key in order:
    name, t = key
    v, bw = rows[key], machine[t]["bw_gbs"]
    f, q, ort = v["f32"], v["int8"], v.get("ort")
    fg = f["weight_bytes_token"] / f["decode_ms"] / 1e6
    qg = q["weight_bytes_token"] / q["decode_ms"] / 1e6
    if ort:
        od = ort["past_decode_ms"]
        og = f["weight_bytes_token"] / od / 1e6
        ocols = "%s | %.1f | %s | %.1fx, %.1fx" % (ms(od), og, pct(og / bw), od / f["decode_ms"], od / q["decode_ms"])
    else:
        ocols = "- | - | - | -"
    print("| %s | %d | %.1f | %s | %.1f | %s | %.1f | %s | %.1f | %s | %.1fx | %s |" % (
        name, t, f["weight_bytes_token"] / 1e6, ms(f["decode_ms"]), fg, pct(fg / bw),
        q["weight_bytes_token"] / 1e6, ms(q["decode_ms"]), qg, pct(qg / bw), f["decode_ms"] / q["decode_ms"], ocols))
print()
print("Prefill of 128 tokens (2 x multiply-adds / time, against the peak; 'last': logits of the last position, "
      "'all': of every position, as ORT's no-cache graph):")
print("| model | threads | C f32 last ms | GFLOP/s | of peak | C int8 last ms | C f32 all ms | GFLOP/s | of peak "
      "| C int8 all ms | ORT f32 all ms | GFLOP/s | of peak | ORT / C f32 all | ORT / C int8 all |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for key in order:
    name, t = key
    v, pk = rows[key], machine[t]["peak_gflops"]
    f, q, ort = v["f32"], v["int8"], v.get("ort")
    fl = f["flops_last"] / f["prefill_last_ms"] / 1e6
    fa = f["flops_all"] / f["prefill_all_ms"] / 1e6
    if ort:
        on = ort["nocache_ms"]
        og = f["flops_all"] / on / 1e6
        ocols = "%s | %.1f | %s | %.1fx | %.1fx" % (ms(on), og, pct(og / pk), on / f["prefill_all_ms"],
                                                    on / q["prefill_all_ms"])
    else:
        ocols = "- | - | - | - | -"
    print("| %s | %d | %s | %.1f | %s | %s | %s | %.1f | %s | %s | %s |" % (
        name, t, ms(f["prefill_last_ms"]), fl, pct(fl / pk), ms(q["prefill_last_ms"]), ms(f["prefill_all_ms"]), fa,
        pct(fa / pk), ms(q["prefill_all_ms"]), ocols))
print()
print("Memory the model adds to the process (VmRSS after loading; after the runs, with a session's KV cache "
      "of %d positions and scratch), against the weights the forward pass reads:" % (rows[order[0]]["f32"]["prefill_tokens"] + 32))
print("| model | quant | weights MB | RSS after load MB | x weights | RSS after runs MB | x weights | load ms |")
print("|---|---|---|---|---|---|---|---|")
for key in order:
    if key[1] != min(machine):
        continue
    for qn in ("f32", "int8"):
        c = rows[key][qn]
        w = c["weight_bytes"]
        print("| %s | %s | %.1f | %.1f | %.2f | %.1f | %.2f | %.0f |" % (key[0], qn, w / 1e6, c["rss_loaded"] / 1e6,
              c["rss_loaded"] / w, c["rss_after_runs"] / 1e6, c["rss_after_runs"] / w, c["load_ms"]))
first = rows[order[0]]["f32"]
print("\nkernels: %s; load during the run (1-minute average): %s" % (first["kernels"], open("/proc/loadavg").read().split()[0]))
PYEOF
