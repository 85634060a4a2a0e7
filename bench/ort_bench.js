#!/usr/bin/env node
// ort_bench.js: ONNX Runtime's speed on a GPT-2 ONNX file, the yardstick for bench/bench_engine.sh.
//
// This is: the two ways ORT runs our exported graphs: model.onnx without a cache (a forward over
// the whole window, what the seed did per generated token) and model_past.onnx with
// past_key_values (a 128-token prefill with an empty past, then one token per call, the presents
// fed back). This is not: a correctness check (tests/node/ort_logprobs.js is).
//
// Usage: node bench/ort_bench.js DIR [--threads N] [--window 128] [--decode 32] [--reps 5]
//   DIR holds model.onnx and model_past.onnx (bench/make_models.py writes them).
// Prints one JSON line: {"nocache_ms": median ms per window forward, "past_prefill_ms": ...,
//   "past_decode_ms": median ms per decoded token}. Exit status 2 on errors.
"use strict";
const path = require("path");

function die(msg) {
    process.stderr.write("ort_bench: " + msg + "\n");
    process.exit(2);
}

let ort;
try {
    ort = require(path.join(__dirname, "..", "tests", "node", "node_modules", "onnxruntime-node"));
} catch (e) {
    die("onnxruntime-node is not installed (sh tests/node/install.sh): " + e.message);
}

function median(v) {
    const s = v.slice().sort((a, b) => a - b);
    const n = s.length;
    return n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

function ids(n, vocab, seed) {
    const out = new BigInt64Array(n);
    let s = seed >>> 0;
    for (let i = 0; i < n; i++) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        out[i] = BigInt((s >>> 16) % vocab);
    }
    return out;
}

async function main() {
    const argv = process.argv.slice(2);
    const a = { threads: 1, window: 128, decode: 32, reps: 5, dir: null };
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--threads") a.threads = parseInt(argv[++i], 10);
        else if (argv[i] === "--window") a.window = parseInt(argv[++i], 10);
        else if (argv[i] === "--decode") a.decode = parseInt(argv[++i], 10);
        else if (argv[i] === "--reps") a.reps = parseInt(argv[++i], 10);
        else if (!a.dir) a.dir = argv[i];
        else die("unexpected argument " + argv[i]);
    }
    if (!a.dir) die("usage: ort_bench.js DIR [--threads N] [--window 128] [--decode 32] [--reps 5]");
    const cfg = require(path.resolve(a.dir, "config.json"));
    const vocab = cfg.vocab_size, nLayer = cfg.n_layer, nHead = cfg.n_head, hd = cfg.n_embd / cfg.n_head;
    const opts = { intraOpNumThreads: a.threads, interOpNumThreads: 1, executionMode: "sequential" };

    // no cache: a forward over the whole window, as many times as reps (+1 warm-up)
    const nocache = await ort.InferenceSession.create(path.join(a.dir, "model.onnx"), opts);
    const win = ids(a.window, vocab, 7);
    const times = [];
    for (let r = 0; r <= a.reps; r++) {
        const t0 = process.hrtime.bigint();
        await nocache.run({ input_ids: new ort.Tensor("int64", win, [1, a.window]) });
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (r) times.push(ms);
    }
    await nocache.release();

    // with past_key_values: prefill the window, then decode token by token
    const past = await ort.InferenceSession.create(path.join(a.dir, "model_past.onnx"), opts);
    const pre = [], dec = [];
    const more = ids(a.decode, vocab, 11);
    for (let r = 0; r <= a.reps; r++) {
        let feeds = { input_ids: new ort.Tensor("int64", win, [1, a.window]) };
        for (let l = 0; l < nLayer; l++)
            for (const kv of ["key", "value"])
                feeds[`past_key_values.${l}.${kv}`] = new ort.Tensor("float32", new Float32Array(0), [1, nHead, 0, hd]);
        let t0 = process.hrtime.bigint();
        let out = await past.run(feeds);
        if (r) pre.push(Number(process.hrtime.bigint() - t0) / 1e6);
        for (let i = 0; i < a.decode; i++) {
            feeds = { input_ids: new ort.Tensor("int64", more.subarray(i, i + 1), [1, 1]) };
            for (let l = 0; l < nLayer; l++)
                for (const kv of ["key", "value"])
                    feeds[`past_key_values.${l}.${kv}`] = out[`present.${l}.${kv}`];
            t0 = process.hrtime.bigint();
            out = await past.run(feeds);
            if (r) dec.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
    }
    await past.release();
    process.stdout.write(JSON.stringify({
        threads: a.threads, window: a.window,
        nocache_ms: median(times), past_prefill_ms: median(pre), past_decode_ms: median(dec),
    }) + "\n");
}

main().catch((e) => die(e && e.stack ? e.stack : String(e)));
