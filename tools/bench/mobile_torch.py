"""PyTorch's side of the MobileNetV2 and EfficientNet-B0 training-step benchmarks.

The step train's BenchmarkTrainStep_mobilenetv2_b16_64px and BenchmarkTrainStep_efficientnetb0_b16_64px
time: torchvision's model (weights=None, seed 7) at 3x64x64, batch 16 of standard normal data
(labels i % 1000), cross-entropy, SGD in two groups (the classifier at lr 0.01, the rest at 0.001,
momentum 0.9, weight decay 1e-4). BatchNorm uses batch statistics (train mode) while Dropout and
StochasticDepth stay in eval mode: the engine trains the exported eval graph, which has neither.

Each model and thread count (torch.set_num_threads) is timed in rounds that alternate, so both
thread counts see the same load; a round is --steps steps after --warmup steps. One JSON line per
model and thread count: the median step in ms, the best and every round's median.

    /work/main/.venv/bin/python tools/bench/mobile_torch.py [--models mobilenet_v2,efficientnet_b0]
        [--threads 1,2] [--rounds 3] [--steps 8] [--warmup 3]
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torchvision.models as tvm
from torchvision.ops import StochasticDepth


def build(name):
    torch.manual_seed(7)
    m = getattr(tvm, name)(weights=None)
    m.train()
    for mod in m.modules():
        if isinstance(mod, (nn.Dropout, StochasticDepth)):
            mod.eval()
    head = [p for n, p in m.named_parameters() if n.startswith("classifier.")]
    base = [p for n, p in m.named_parameters() if not n.startswith("classifier.")]
    opt = torch.optim.SGD([{"params": base}, {"params": head, "lr": 0.01}], lr=0.001, momentum=0.9,
                          weight_decay=1e-4)
    return m, opt


def step(m, opt, x, y):
    opt.zero_grad(set_to_none=True)
    loss = nn.functional.cross_entropy(m(x), y)
    loss.backward()
    opt.step()
    return loss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="mobilenet_v2,efficientnet_b0")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=3)
    a = ap.parse_args()
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    threads = [int(t) for t in a.threads.split(",")]
    g = torch.Generator().manual_seed(1)
    x = torch.randn((16, 3, 64, 64), generator=g)
    y = torch.arange(16) % 1000
    for name in a.models.split(","):
        m, opt = build(name)
        rounds = {t: [] for t in threads}
        for _ in range(a.rounds):
            for t in threads:
                torch.set_num_threads(t)
                for _ in range(a.warmup):
                    step(m, opt, x, y)
                times = []
                for _ in range(a.steps):
                    t0 = time.perf_counter()
                    step(m, opt, x, y)
                    times.append((time.perf_counter() - t0) * 1e3)
                rounds[t].append(statistics.median(times))
        for t in threads:
            print(json.dumps({"model": name, "threads": t, "torch": torch.__version__,
                              "median_ms": round(statistics.median(rounds[t]), 2),
                              "best_ms": round(min(rounds[t]), 2),
                              "rounds_ms": [round(v, 2) for v in rounds[t]]}), flush=True)


if __name__ == "__main__":
    main()
