"""Tests for the CUDA path of python/model.py, train.py and export_model.py (PyTorch 2.x on a GPU):
the model on the GPU agrees with the CPU (float32, past-KV, bf16 autocast), train.py trains with
bf16 autocast, fused AdamW and torch.compile, resumes, and its checkpoint loads and exports on the
CPU. Without a CUDA device every check is a SKIP (CI has none; scripts/train_on_gpu.sh runs this
file on the GPU machine). PASS/FAIL/SKIP lines; exit 1 on any FAIL."""
import os
import re
import subprocess
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, HERE)
import testlib  # noqa: E402 (tests/python/testlib.py: PASS/FAIL/SKIP lines, the failure count)
from testlib import check, report, skip  # noqa: E402
from test_model import small_model  # noqa: E402 (non-trivial random weights)
from test_train import SMALL, make_data, log_rows  # noqa: E402 (the tiny corpus and model)
from model import load_model  # noqa: E402

CHECKS = ["cuda_forward_matches_cpu", "cuda_past_kv_matches_full", "cuda_bf16_autocast_close",
          "train_cuda_bf16_compile", "train_cuda_resumes", "cuda_checkpoint_loads_on_cpu",
          "export_cuda_checkpoint_int8", "export_matches_onnxruntime"]

IDS = torch.tensor([[4, 8, 15, 16, 23, 42, 0, 3, 9, 11, 12, 5], [1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 60, 2]])


def forward_matches_cpu():
    m = small_model(3)
    with torch.no_grad():
        cpu = m(IDS)
        gpu = m.cuda()(IDS.cuda()).cpu()
    worst = (gpu - cpu).abs().max().item()
    return worst < 1e-4, "CUDA float32 logits differ from the CPU's by %.3g" % worst


def past_kv_matches_full():
    m = small_model(6).cuda()
    ids = IDS.cuda()
    with torch.no_grad():
        full = m(ids)
        past, rows = None, []
        for t in range(ids.shape[1]):
            lt, past = m(ids[:, t:t + 1], past_key_values=past, use_cache=True)
            rows.append(lt)
        worst = (torch.cat(rows, 1) - full).abs().max().item()
    return worst < 1e-4, "token-by-token past-KV logits differ from the full forward by %.3g" % worst


def bf16_autocast_close():
    m = small_model(4).cuda()
    with torch.no_grad():
        ref = m(IDS.cuda()).float()
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
            low = m(IDS.cuda()).float()
    rel = ((low - ref).abs().max() / ref.abs().max()).item()
    agree = (low.argmax(-1) == ref.argmax(-1)).float().mean().item()
    return rel < 0.05 and agree >= 0.9, "bf16 autocast: max error %.3g of the largest logit, top-1 agreement %.2f" % (rel, agree)


def main():
    if not torch.cuda.is_available():
        for name in CHECKS:
            skip(name, "no CUDA device (torch %s)" % torch.__version__)
        return
    torch.backends.cuda.matmul.allow_tf32 = False  # float32 comparisons mean float32
    torch.backends.cudnn.allow_tf32 = False
    print("note: torch %s, %s" % (torch.__version__, torch.cuda.get_device_name()))
    check("cuda_forward_matches_cpu", forward_matches_cpu)
    check("cuda_past_kv_matches_full", past_kv_matches_full)
    check("cuda_bf16_autocast_close", bf16_autocast_close)

    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        os.makedirs(data)
        make_data(data)
        out = os.path.join(tmp, "run")
        train = [sys.executable, os.path.join(ROOT, "python", "train.py"), "--data", data, "--out", out,
                 "--device", "cuda", "--dtype", "auto", "--eval-interval", "40"] + SMALL
        r = subprocess.run(train + ["--max-steps", "120", "--compile"], capture_output=True, text=True, timeout=600)
        rows = log_rows(out) if r.returncode == 0 else []
        report("train_cuda_bf16_compile", r.returncode == 0 and re.search(r"device cuda(:[0-9]+)?, bf16", r.stderr)
               and rows[-1]["valid_loss"] < rows[0]["valid_loss"] - 0.5,
               "valid losses %s; %s" % ([round(x["valid_loss"], 3) for x in rows], r.stderr[-800:]))
        if r.returncode != 0:
            return
        r = subprocess.run(train + ["--max-steps", "160", "--resume"], capture_output=True, text=True, timeout=600)
        state = torch.load(os.path.join(out, "ckpt.pt"), map_location="cpu")
        report("train_cuda_resumes", r.returncode == 0 and state["step"] == 160 and "resuming from" in r.stderr,
               r.stderr[-500:])

        best = os.path.join(out, "best.pt")
        m = load_model(best)
        with torch.no_grad():
            cpu = m(torch.tensor([[1, 2, 3, 4]]))
            gpu = m.cuda()(torch.tensor([[1, 2, 3, 4]]).cuda()).cpu()
        report("cuda_checkpoint_loads_on_cpu", bool(torch.isfinite(cpu).all())
               and (cpu - gpu).abs().max().item() < 1e-3, "max CPU/GPU difference %.3g" % (cpu - gpu).abs().max().item())

        onnx_dir = os.path.join(tmp, "onnx")
        r = subprocess.run([sys.executable, os.path.join(ROOT, "python", "export_model.py"), "--checkpoint", best,
                            "--out", onnx_dir, "--int8"], capture_output=True, text=True, timeout=300)
        path = os.path.join(onnx_dir, "model.onnx")
        report("export_cuda_checkpoint_int8", r.returncode == 0 and os.path.exists(path), r.stderr[-800:])
        try:
            import numpy as np
            import onnxruntime
        except ImportError as e:
            skip("export_matches_onnxruntime", "onnxruntime for Python is not installed (%s)" % e)
            return
        if not os.path.exists(path):
            report("export_matches_onnxruntime", False, "no model.onnx to run")
            return
        sess = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        ids = np.array([[1, 2, 3, 4, 5, 6]], dtype=np.int64)
        got = torch.from_numpy(sess.run(None, {sess.get_inputs()[0].name: ids})[0])
        with torch.no_grad():
            want = m.cpu()(torch.from_numpy(ids))
        lp = lambda x: torch.log_softmax(x.float(), -1)  # noqa: E731
        worst = (lp(got) - lp(want)).abs().max().item()
        # int8 weights: log-probabilities within a few hundredths of the float model's
        report("export_matches_onnxruntime", worst < 0.1, "int8 ONNX vs float32 torch log-probs differ by %.3g" % worst)


if __name__ == "__main__":
    main()
    sys.exit(testlib.exit_status())
