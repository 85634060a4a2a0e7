#!/bin/sh
# Installs onnxruntime-node into tests/node/node_modules (git-ignored) for the ONNX
# Runtime reference tests. Not an error when npm or the registry is missing: the tests
# that need it then SKIP. ONNXRUNTIME_NODE_INSTALL=skip stops its install script from
# downloading CUDA parts; the CPU binary ships inside the npm package.
# Usage: sh tests/node/install.sh
dir=$(cd "$(dirname "$0")" && pwd)
if [ -f "$dir/node_modules/onnxruntime-node/package.json" ]; then
    echo "install.sh: onnxruntime-node already installed in $dir/node_modules"
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "install.sh: npm not found; ONNX Runtime tests will SKIP"
    exit 0
fi
log="${TMPDIR:-/tmp}/autocorrect-npm-install.log"
# installs what package.json names; --no-package-lock: nothing in the tree changes
if ONNXRUNTIME_NODE_INSTALL=skip timeout 300 npm install --prefix "$dir" --no-audit --no-fund \
        --no-package-lock >"$log" 2>&1; then
    echo "install.sh: onnxruntime-node installed in $dir/node_modules"
else
    echo "install.sh: npm install failed (registry unreachable?), see $log;" \
         "ONNX Runtime tests will SKIP"
fi
exit 0
