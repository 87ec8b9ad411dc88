"""Learning-rate schedules stepped per optimizer step or per epoch, as the Hugging Face Trainer
(transformers 5.24: get_constant/linear/cosine_schedule_with_warmup, TrainingArguments.get_warmup_steps)
and PyTorch 2.14 (OneCycleLR; StepLR after the warmup through SequentialLR) compute them. For every
schedule x unit x warmup form that `onnxtune train` takes, a tiny nn.Linear(4, 3) trains with SGD
(momentum 0.9, two groups: fc.weight lr 0.01, fc.bias lr 0.1) on 21 fixed examples in batches of 3,
in file order, for 3 epochs of 7 steps and for 17 steps; onecycle also with Adam (its beta1 cycles).
Writes models/schedules/:
    linear.onnx     the model (dynamo export, batch 3)
    data.npz        x [21, 4] float32, y [21] int64
    cases.json      per case: schedule, unit, warmup, warmup_ratio, epochs, steps, optimizer, and
                    either the error PyTorch raised, or total (the schedule's length in its unit),
                    warmup_positions, lrs (per step, per group: the rate the step used), momentum
                    (onecycle: per step, SGD's momentum or Adam's beta1) and weights (the state_dict
                    after the last step)

    .venv/bin/python models/make_schedules.py
"""
import json
import os
import warnings
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from transformers import TrainingArguments
from transformers.optimization import (
    get_constant_schedule_with_warmup,
    get_cosine_schedule_with_warmup,
    get_linear_schedule_with_warmup,
)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "schedules")
torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
warnings.filterwarnings("ignore")

N, BATCH, EPOCHS, STEPS = 21, 3, 3, 17
LRS = {"fc.weight": 0.01, "fc.bias": 0.1}


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(x)


def warmup_steps(ratio_or_steps, total):
    """The Trainer's own count: warmup_steps >= 1 are steps, below 1 a ratio (ceil(total * ratio))."""
    # The method reads only self.warmup_steps; building TrainingArguments would need accelerate.
    return TrainingArguments.get_warmup_steps(SimpleNamespace(warmup_steps=ratio_or_steps), total)


def make_scheduler(opt, kind, total, warmup, ratio):
    """Returns (scheduler, warmup positions)."""
    if kind == "onecycle":
        pct = ratio if ratio > 0 else (warmup / total if warmup > 0 else 0.3)
        s = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[g["lr"] for g in opt.param_groups],
                                                total_steps=total, pct_start=float(pct))
        return s, None
    w = warmup_steps(ratio, total) if ratio > 0 else warmup
    if kind == "constant":
        return get_constant_schedule_with_warmup(opt, w), w
    if kind == "linear":
        return get_linear_schedule_with_warmup(opt, w, total), w
    if kind == "cosine":
        return get_cosine_schedule_with_warmup(opt, w, total), w  # num_cycles 0.5
    _, e, g = kind.split(":")
    step = torch.optim.lr_scheduler.StepLR(opt, int(e), float(g))
    if w == 0:
        return step, w
    # Warmup first, then StepLR from the end of the warmup.
    first = get_constant_schedule_with_warmup(opt, w)
    return torch.optim.lr_scheduler.SequentialLR(opt, [first, step], milestones=[w]), w


def run_case(model0, x, y, case):
    model = Tiny()
    model.load_state_dict(model0.state_dict())
    params = dict(model.named_parameters())
    groups = [{"params": [params[n]], "lr": lr} for n, lr in LRS.items()]
    if case["optimizer"] == "sgd":
        opt = torch.optim.SGD(groups, lr=0.01, momentum=0.9)
    else:
        opt = torch.optim.Adam(groups, lr=0.01)
    nb = N // BATCH
    steps = case["steps"] or case["epochs"] * nb
    epochs = (steps - 1) // nb + 1
    total = epochs if case["unit"] == "epoch" else steps
    try:
        sched, w = make_scheduler(opt, case["schedule"], total, case["warmup"], case["warmup_ratio"])
        lrs, moms = [], []
        done = 0
        for e in range(epochs):
            for i in range(nb):
                if done == steps:
                    break
                lrs.append([g["lr"] for g in opt.param_groups])
                g0 = opt.param_groups[0]
                moms.append(g0["momentum"] if "momentum" in g0 else g0["betas"][0])
                opt.zero_grad()
                F.cross_entropy(model(x[i * BATCH:(i + 1) * BATCH]), y[i * BATCH:(i + 1) * BATCH]).backward()
                opt.step()
                done += 1
                if case["unit"] == "step":
                    sched.step()
            if case["unit"] == "epoch":
                sched.step()
    except (ValueError, ZeroDivisionError) as err:
        case["error"] = f"{type(err).__name__}: {err}"
        return case
    case.update(total=total, warmup_positions=w, lrs=lrs)
    if case["schedule"] == "onecycle":
        case["momentum"] = moms
    case["weights"] = {k: v.detach().numpy().ravel().tolist() for k, v in model.state_dict().items()}
    return case


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    model0 = Tiny().eval()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(N, 4, generator=g)
    y = torch.randint(0, 3, (N,), generator=g)
    torch.onnx.export(model0, (x[:BATCH],), os.path.join(OUT, "linear.onnx"), dynamo=True, external_data=False,
                      input_names=["x"])
    np.savez(os.path.join(OUT, "data.npz"), x=x.numpy(), y=y.numpy())
    cases = []
    for unit in ["step", "epoch"]:
        decay = "step:4:0.5" if unit == "step" else "step:1:0.5"
        for kind in ["constant", "linear", "cosine", "onecycle", decay]:
            for warmup, ratio in [(0, 0.0), (5 if unit == "step" else 1, 0.0), (0, 0.25)]:
                for epochs, steps in [(EPOCHS, 0), (0, STEPS)]:
                    cases.append({"schedule": kind, "unit": unit, "warmup": warmup, "warmup_ratio": ratio,
                                  "epochs": epochs, "steps": steps, "optimizer": "sgd"})
    for unit in ["step", "epoch"]:
        cases.append({"schedule": "onecycle", "unit": unit, "warmup": 0, "warmup_ratio": 0.0,
                      "epochs": EPOCHS, "steps": 0, "optimizer": "adam"})
    out = [run_case(model0, x, y, c) for c in cases]
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({"torch": torch.__version__, "lrs": LRS, "batch": BATCH, "cases": out}, f)
        f.write("\n")
    print(len(out), "cases,", sum("error" in c for c in out), "refused")


if __name__ == "__main__":
    main()
