#!/usr/bin/env bash
# Prepares what a lent GPU machine needs for scripts/gpu_lease.sh, in one folder to carry there
# (the machine has PyTorch 2.x and CUDA but none of this project's C libraries, and reaches no
# package archive): the engine's benchmark programs built here (stripped) with the two shared
# libraries they need that the machine lacks (protobuf-c, jansson), and optionally a model's
# weights as float16 parts to start from (python/checkpoint_parts.py split).
#
#   scripts/gpu_lease_prepare.sh CARRY_DIR [CHECKPOINT]
#
# Then carry CARRY_DIR and the token folder (train.bin.xz, valid.bin, meta.json: 64 MiB in all
# with the working tree) and run scripts/gpu_lease.sh there. Used in session 5 (docs/training.md,
# section 2). CARRY_DIR must be a folder .git/info/exclude or .gitignore ignores (.gpu/ is).
set -euo pipefail
cd "$(dirname "$0")/.."
CARRY=${1:?usage: scripts/gpu_lease_prepare.sh CARRY_DIR [CHECKPOINT]}
CHECKPOINT=${2:-}
PYTHON=${PYTHON:-/usr/bin/python3}

make -s all build/bench/bench_engine build/bench/bench_roofline
rm -rf "$CARRY"
mkdir -p "$CARRY/build/bench" "$CARRY/lib"
cp build/bench/bench_engine build/bench/bench_roofline "$CARRY/build/bench/"
strip "$CARRY"/build/bench/*
for lib in libprotobuf-c.so.1 libjansson.so.4; do
    # (no early exit in awk: ldconfig would then die of SIGPIPE, which pipefail makes fatal)
    path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ && !p {p = $NF} END {print p}')
    [ -n "$path" ] || { echo "gpu_lease_prepare: $lib not found (scripts/install-deps.sh)" >&2; exit 1; }
    cp -L "$path" "$CARRY/lib/"
done
if [ -n "$CHECKPOINT" ]; then
    $PYTHON python/checkpoint_parts.py split "$CHECKPOINT" "$CARRY/parts" --max-mib 15
fi
du -sh "$CARRY"
