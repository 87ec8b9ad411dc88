#!/usr/bin/env python3
"""Time PyTorch on the workload of BenchmarkTrainStep_resnet18_b16_64px (docs/performance.md,
"ResNet-18 step and inference").

torchvision's ResNet-18 (1000 classes), a batch of 16 3x64x64 images, one SGD step a call with two
parameter groups (fc.* at lr 0.01, the rest at 0.001; momentum 0.9, weight decay 1e-4) and
cross-entropy; eval-mode inference on the same batch; and, with --onnx, ONNX Runtime on that export
(.cache/bench/resnet_eval.onnx from tools/bench/torch_bench.py fixtures, the model of BenchmarkRun_resnet18_b16_64px). Each measurement runs
at 1 and at 2 intra-op threads, alternating, after a warm-up. For every thread count it prints, per step: the mean wall time,
the fastest step and the process CPU time (which other tenants of a shared machine do not inflate).

    .venv/bin/python tools/perf/resnet_torch.py [--steps 20] [--rounds 3] [--what train,infer,ort]
        [--onnx .cache/bench/resnet_eval.onnx]
"""

import argparse
import time

import torch
import torch.nn as nn
import torchvision.models as tvm


def model():
    torch.manual_seed(10)
    return tvm.resnet18(weights=None)


def time_steps(step, steps):
    for _ in range(3):
        step()
    walls = []
    c0, w0 = time.process_time(), time.perf_counter()
    for _ in range(steps):
        t = time.perf_counter()
        step()
        walls.append(time.perf_counter() - t)
    return ((time.perf_counter() - w0) / steps * 1e3, min(walls) * 1e3,
            (time.process_time() - c0) / steps * 1e3)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--what", default="train,infer")
    ap.add_argument("--onnx", default=".cache/bench/resnet_eval.onnx")
    args = ap.parse_args()
    torch.set_num_interop_threads(1)
    g = torch.Generator().manual_seed(1)
    x = torch.randn((16, 3, 64, 64), generator=g)
    y = torch.arange(16, dtype=torch.int64) % 1000

    m = model()
    head = [p for n, p in m.named_parameters() if n.startswith("fc.")]
    base = [p for n, p in m.named_parameters() if not n.startswith("fc.")]
    opt = torch.optim.SGD([{"params": base}, {"params": head, "lr": 0.01}], lr=0.001, momentum=0.9,
                          weight_decay=1e-4)
    loss_fn = nn.CrossEntropyLoss()

    def train_step():
        m.train()
        opt.zero_grad()
        loss_fn(m(x), y).backward()
        opt.step()

    ev = model().eval()

    def infer():
        with torch.inference_mode():
            ev(x)

    whats = args.what.split(",")
    sessions = {}
    if "ort" in whats:
        import numpy as np
        import onnxruntime as ort
        xn = x.numpy()
        for threads in (1, 2):
            so = ort.SessionOptions()
            so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
            sess = ort.InferenceSession(args.onnx, so, providers=["CPUExecutionProvider"])
            name = sess.get_inputs()[0].name
            sessions[threads] = (lambda s=sess, n=name: s.run(None, {n: xn}))
        print("onnxruntime %s, numpy %s" % (ort.__version__, np.__version__))
    print("torch %s, %d steps a measurement" % (torch.__version__, args.steps))
    for r in range(args.rounds):
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for what in whats:
                step = {"train": train_step, "infer": infer}.get(what) or sessions[threads]
                mean, fastest, cpu = time_steps(step, args.steps)
                print("round %d %-5s threads %d: mean %6.1f ms  fastest %6.1f ms  cpu %6.1f ms" %
                      (r, what, threads, mean, fastest, cpu), flush=True)


if __name__ == "__main__":
    main()
