#!/usr/bin/python3
"""Tunes the corrector's error model and thresholds on the evaluation's dev half.

What this is: coordinate descent over the parameters eval_spelling accepts with --set, maximising
    isolated top-1 (all non-word typos) + share of sentence misspellings fixed
    - penalty * share of correct words broken (percent)
(with --model, plus half the share of real-word swaps fixed minus the same penalty on the words
broken there) on the dev half only (bench/eval_spelling_data.py splits the data in two), so
the test half stays unseen. It prints the best --set list; copy the values into
ac_error_model_default / ac_correct_default_params by hand.

Usage: /usr/bin/python3 bench/tune_spelling.py [--model DIR] [--rounds 2] [--penalty 20]
       [--only a,b] [--set NAME=VALUE]... [--limit N]
       (run bench/eval_spelling.sh once first: it builds the data and the binary)
"""
import argparse
import json
import subprocess

START = {
    "keep": -0.05, "substitute": -8.5, "substitute_near": -6.5, "substitute_vowel": -6.5,
    "insert": -7.5, "insert_near": -6.0, "omit": -4.5, "omit_double": -3.0, "transpose": -3.0,
    "first_letter": -3.0, "unigram_weight": 1.0, "unknown_logp": -21.0, "capital_keep": 6.5,
}
# with --model: the language-model parameters (no effect without one)
LM_START = {
    "lm_weight": 1.75, "lm_unigram_weight": -0.75, "unknown_penalty": -5.5, "real_word_margin": 2.0,
    "lm_skip_posterior": 0.94,
}
STEPS = [-1.0, -0.5, 0.5, 1.0]
SCALE = {"unigram_weight": 0.5, "lm_weight": 0.25, "lm_unigram_weight": 0.25, "lm_skip_posterior": 0.02}


def run(args, params):
    cmd = [args.binary, "--data", args.data, "--half", "dev", "--json", "--limit", str(args.limit)]
    if args.model:
        cmd += ["--model", args.model]
    for k, v in params.items():
        cmd += ["--set", "%s=%g" % (k, v)]
    out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    iso, sent = out["isolated"], out["sentences"]
    score = iso["top1"] + sent["fixed"] - args.penalty * sent["broken"]
    if args.model:
        rw = out["realword"]
        score += 0.5 * rw["fixed"] - args.penalty * rw["broken"]
    return score, (iso["top1"], iso["top5"], sent["fixed"], sent["broken"])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="build/bench/eval_spelling")
    parser.add_argument("--data", default="build/eval")
    parser.add_argument("--model")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--penalty", type=float, default=20.0)
    parser.add_argument("--only", help="comma-separated parameter names to tune")
    parser.add_argument("--set", action="append", help="NAME=VALUE: a starting value")
    parser.add_argument("--limit", type=int, default=0, help="items per test set (0: all)")
    args = parser.parse_args()
    params = dict(START)
    if args.model:
        params.update(LM_START)
    for kv in args.set or []:
        k, v = kv.split("=")
        params[k] = float(v)
    names = args.only.split(",") if args.only else list(params)
    best, detail = run(args, params)
    print("start %.2f %s" % (best, detail), flush=True)
    for r in range(args.rounds):
        improved = False
        for name in names:
            for step in STEPS:
                trial = dict(params)
                trial[name] = round(params[name] + step * SCALE.get(name, 1.0), 3)
                if name == "lm_skip_posterior" and not 0.5 <= trial[name] <= 1.0:
                    continue
                score, d = run(args, trial)
                if score > best + 0.01:
                    best, detail, params = score, d, trial
                    improved = True
                    print("round %d %s=%g -> %.2f %s" % (r, name, trial[name], best, d), flush=True)
        if not improved:
            break
    print("best %.2f %s" % (best, detail))
    print(" ".join("--set %s=%g" % kv for kv in params.items()))


if __name__ == "__main__":
    main()
