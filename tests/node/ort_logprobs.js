#!/usr/bin/env node
// ONNX Runtime reference runner: log-probabilities of a GPT-2 ONNX file at every position.
//
// This is: the test harness's bridge to onnxruntime-node (installed at test time by
// tests/node/install.sh), used by tests/python/test_export.py and usable by the C tests.
// This is not: a benchmark (see bench/), nor a generator.
//
// Usage: node tests/node/ort_logprobs.js MODEL.onnx IDS_CSV [--split K] [--opt LEVEL]
//   IDS_CSV   token ids of one sequence, e.g. "3,17,250"; batch 1.
//   --split K for a graph with past_key_values inputs: run ids[0..K) with an empty past,
//             then ids[K..) with the presents of the first run as the past (tests the
//             KV path). Without it the whole sequence runs once with an empty past.
//   --opt L   graph optimization level: disabled | basic | extended | all (default all).
// Prints one line of JSON: {"logprobs": [[n_vocab floats] per position], "n_vocab": V}
// log_softmax is computed in double precision from ORT's float32 logits.
// One intra-op and one inter-op thread, so results do not depend on the machine.
// Exit status 2 on bad usage or a run error (message on stderr).

"use strict";

function die(msg) {
    process.stderr.write("ort_logprobs: " + msg + "\n");
    process.exit(2);
}

let ort;
try {
    ort = require("onnxruntime-node");
} catch (e) {
    die("onnxruntime-node is not installed (run tests/node/install.sh): " + e.message);
}

function parseArgs(argv) {
    const a = { split: -1, opt: "all", pos: [] };
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--split") a.split = parseInt(argv[++i], 10);
        else if (argv[i] === "--opt") a.opt = argv[++i];
        else a.pos.push(argv[i]);
    }
    if (a.pos.length !== 2) die("usage: ort_logprobs.js MODEL.onnx IDS_CSV [--split K] [--opt LEVEL]");
    return a;
}

// logits: Float32Array [T * V] -> array of T arrays of V log-probabilities
function logSoftmaxRows(logits, T, V) {
    const rows = [];
    for (let t = 0; t < T; t++) {
        let max = -Infinity;
        for (let v = 0; v < V; v++) max = Math.max(max, logits[t * V + v]);
        let sum = 0;
        for (let v = 0; v < V; v++) sum += Math.exp(logits[t * V + v] - max);
        const lse = max + Math.log(sum);
        const row = new Array(V);
        for (let v = 0; v < V; v++) row[v] = logits[t * V + v] - lse;
        rows.push(row);
    }
    return rows;
}

// past input name -> matching present output name
function presentName(pastName) {
    return pastName.replace(/^past_key_values\./, "present.");
}

async function run(session, ids, past) {
    const feeds = {
        input_ids: new ort.Tensor("int64", BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
    };
    for (const [name, t] of Object.entries(past)) feeds[name] = t;
    return session.run(feeds);
}

async function main() {
    const a = parseArgs(process.argv.slice(2));
    const ids = a.pos[1].split(",").filter((s) => s.length).map((s) => parseInt(s, 10));
    if (!ids.length || ids.some((x) => !Number.isInteger(x) || x < 0)) die("bad ids: " + a.pos[1]);
    const session = await ort.InferenceSession.create(a.pos[0], {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        executionMode: "sequential",
        graphOptimizationLevel: a.opt,
    });
    const pastNames = session.inputNames.filter((n) => n.startsWith("past_key_values."));
    if (a.split >= 0 && !pastNames.length) die("--split needs a graph with past_key_values inputs");
    if (a.split > ids.length) die("--split beyond the sequence");

    // the past's shape [1, n_head, 0, head_dim] comes from the model's metadata
    let past = {};
    if (pastNames.length) {
        const meta = {};
        // metadata_props are not exposed by every onnxruntime-node version: read them
        // from the file instead when absent
        const md = session.handler && session.handler.metadata;
        if (md && md.customMetadataMap) Object.assign(meta, md.customMetadataMap);
        if (!meta["autocorrect.n_head"]) Object.assign(meta, readMetadata(a.pos[0]));
        const H = parseInt(meta["autocorrect.n_head"], 10);
        const D = parseInt(meta["autocorrect.n_embd"], 10) / H;
        if (!(H > 0 && D > 0)) die("no autocorrect.n_head / n_embd metadata in the model");
        for (const n of pastNames) past[n] = new ort.Tensor("float32", new Float32Array(0), [1, H, 0, D]);
    }

    const chunks = a.split >= 0 ? [ids.slice(0, a.split), ids.slice(a.split)] : [ids];
    const rows = [];
    let V = 0;
    for (const chunk of chunks) {
        if (!chunk.length) continue;
        const out = await run(session, chunk, past);
        const logits = out.logits;
        V = logits.dims[2];
        rows.push(...logSoftmaxRows(logits.data, chunk.length, V));
        const next = {};
        for (const n of pastNames) next[n] = out[presentName(n)];
        past = next;
    }
    process.stdout.write(JSON.stringify({ logprobs: rows, n_vocab: V }) + "\n");
}

// Minimal protobuf walk for ModelProto.metadata_props (field 14: StringStringEntryProto
// {key = 1, value = 2}); enough for our own files, which keep them small.
function readMetadata(path) {
    const buf = require("fs").readFileSync(path);
    const out = {};
    let p = 0;
    function varint() {
        let x = 0n, s = 0n;
        for (;;) {
            if (p >= buf.length) throw new Error("truncated varint");
            const b = buf[p++];
            x |= BigInt(b & 0x7f) << s;
            if (!(b & 0x80)) return x;
            s += 7n;
        }
    }
    function fields(start, end, cb) {
        p = start;
        while (p < end) {
            const key = Number(varint());
            const field = key >>> 3, wire = key & 7;
            if (wire === 0) varint();
            else if (wire === 1) p += 8;
            else if (wire === 5) p += 4;
            else if (wire === 2) {
                const len = Number(varint());
                const s = p;
                p += len;
                cb(field, s, p);
            } else throw new Error("unsupported wire type " + wire);
        }
    }
    fields(0, buf.length, (field, s, e) => {
        if (field !== 14) return;
        const save = p;
        let k = "", v = "";
        fields(s, e, (f2, s2, e2) => {
            if (f2 === 1) k = buf.toString("utf8", s2, e2);
            else if (f2 === 2) v = buf.toString("utf8", s2, e2);
        });
        p = save;
        out[k] = v;
    });
    return out;
}

main().catch((e) => die(e && e.stack ? e.stack : String(e)));
