"""The update arithmetic of torch.optim's SGD, Adam and AdamW (PyTorch 2.14, CPU, float32, the
default single-tensor implementations), element by element: a parameter of 1031 elements (a tail
past every vector width) takes 7 steps with fixed gradients, and the parameter and the optimizer's
state are saved after each step. The gradients grow step by step and span several binades, so
that the rounding of every operation shows.
Writes models/optim/bits.npz:
    p0              [1031] float32, the parameter before the first step
    grads           [7, 1031] float32, the gradient of each step
    <case>.p        [7, 1031] float32, the parameter after each step
    <case>.<buffer> [7, 1031] float32, each state buffer after each step (momentum_buffer,
                    exp_avg, exp_avg_sq)
and models/optim/cases.json: per case, the optimizer's name and its settings.

    .venv/bin/python models/make_optim_bits.py
"""
import json
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "optim")
torch.set_num_threads(1)

N, STEPS = 1031, 7

CASES = {
    "sgd": ("SGD", dict(lr=0.01)),
    "sgd_wd": ("SGD", dict(lr=0.01, weight_decay=1e-4)),
    "sgd_momentum": ("SGD", dict(lr=0.01, momentum=0.9, weight_decay=1e-4)),
    "sgd_momentum_nowd": ("SGD", dict(lr=0.1, momentum=0.9)),
    "sgd_nesterov": ("SGD", dict(lr=0.01, momentum=0.9, weight_decay=1e-4, nesterov=True)),
    "sgd_dampening": ("SGD", dict(lr=0.01, momentum=0.5, dampening=0.3, weight_decay=0.01)),
    "adam": ("Adam", dict(lr=1e-3)),
    "adam_l2": ("Adam", dict(lr=1e-3, weight_decay=0.01)),
    "adam_betas": ("Adam", dict(lr=0.01, betas=(0.3, 0.99), eps=1e-6)),
    "adamw": ("AdamW", dict(lr=1e-3, weight_decay=0.01)),
    "adamw_betas": ("AdamW", dict(lr=0.01, betas=(0.6, 0.95), weight_decay=0.1)),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(20261202)
    p0 = torch.randn(N, generator=g)
    grads = torch.stack([torch.randn(N, generator=g) * 10.0 ** (k - 4) * (1 + k) for k in range(STEPS)])
    arrays = {"p0": p0.numpy(), "grads": grads.numpy()}
    cases = {}
    for name, (cls, kw) in CASES.items():
        p = torch.nn.Parameter(p0.clone())
        opt = getattr(torch.optim, cls)([p], foreach=False, **kw)
        ps, bufs = [], {}
        for k in range(STEPS):
            p.grad = grads[k].clone()
            opt.step()
            ps.append(p.detach().clone())
            for b, v in opt.state[p].items():
                if b != "step":
                    bufs.setdefault(b, []).append(v.clone())
        arrays[name + ".p"] = torch.stack(ps).numpy()
        for b, vs in bufs.items():
            arrays[name + "." + b] = torch.stack(vs).numpy()
        settings = {k: list(v) if isinstance(v, tuple) else v for k, v in kw.items()}
        cases[name] = {"optimizer": cls, "settings": settings, "buffers": sorted(bufs)}
    np.savez(os.path.join(OUT, "bits.npz"), **arrays)
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({"torch": torch.__version__, "steps": STEPS, "n": N, "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
