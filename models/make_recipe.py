"""Fixtures of the training recipe's step options (issue 14, point 3): gradient clipping
(torch.nn.utils.clip_grad_norm_), gradient accumulation, an EMA copy of the weights
(timm.utils.ModelEmaV2 itself), class weights (nn.CrossEntropyLoss's weight, with label
smoothing too) and BatchNorm layers of frozen parameters in eval mode (--freeze-bn).

Two models, exported with the dynamo exporter without its optimizer (BatchNorm kept, state_dict
names), at batch 16:
    models/recipe/cnn.onnx   Conv-BN-ReLU, Conv-BN-ReLU (convs without bias), mean pool, Linear head (3 classes)
    models/recipe/mlp.onnx   Linear-ReLU-Linear (no BatchNorm: accumulation equals a larger batch)
Data (random, seeded), read by the Go tests and the CLI:
    models/recipe/cnn_data.npz   x [32, 3, 6, 6], y [32]   (batches of 16, in file order)
    models/recipe/mlp_data.npz   x [96, 10], y [96]
    models/recipe/mlp_tail.npz   x [80, 10], y [80]        (5 batches of 16: the last group is short)
models/recipe/expected.npz holds, for each case below, "<case>/step<k>/<name>" = the state_dict after
k optimizer steps (k = 1..3) and for the EMA cases "<case>/ema<k>/<name>" = ModelEmaV2's copy; for
"balanced" also "balanced/weights" (n_samples / (n_classes * count_c), sklearn's rule).

Every case trains with two parameter groups: the head (fc.* or out.*) at lr 0.1, the rest at
lr 0.01 (0.001 with AdamW); SGD with momentum 0.9 and weight decay 1e-4, or AdamW (weight decay 1e-4).
The batches of an epoch come in file order; a run of 3 steps over 2 batches an epoch goes back to the
first. The Go side (train/recipe_test.go) repeats these settings: they are inputs, the numbers are
PyTorch's.

    .venv/bin/python models/make_recipe.py
"""
import copy
import json
import os
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.utils import ModelEmaV2

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "recipe")
torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
warnings.filterwarnings("ignore")

BATCH = 16


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        # No conv bias before BatchNorm (as torchvision's ResNets): BN cancels it, its gradient is
        # rounding noise, and Adam's normalized step of noise is lr in either direction.
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 6, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(6)
        self.fc = nn.Linear(6, 3)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return self.fc(x.mean(dim=(2, 3)))


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(10, 12)
        self.out = nn.Linear(12, 4)

    def forward(self, x):
        return self.out(F.relu(self.hidden(x)))


def fresh(cls):
    torch.manual_seed(0)
    m = cls()
    if cls is CNN:
        # Running statistics away from (0, 1), so eval-mode BatchNorm differs from batch statistics.
        with torch.no_grad():
            for bn in (m.bn1, m.bn2):
                bn.running_mean.uniform_(-0.5, 0.5)
                bn.running_var.uniform_(0.5, 2.0)
                bn.weight.uniform_(0.5, 1.5)
                bn.bias.uniform_(-0.2, 0.2)
    return m


def optimizer(m, head, kind):
    base = [p for n, p in m.named_parameters() if not n.startswith(head) and p.requires_grad]
    top = [p for n, p in m.named_parameters() if n.startswith(head) and p.requires_grad]
    if kind == "sgd":
        return torch.optim.SGD([{"params": base}, {"params": top, "lr": 0.1}], lr=0.01, momentum=0.9, weight_decay=1e-4)
    return torch.optim.AdamW([{"params": base}, {"params": top, "lr": 0.1}], lr=0.001, weight_decay=1e-4)


def batches(x, y, size):
    return [(x[i:i + size], y[i:i + size]) for i in range(0, len(x), size)]


def record(arrays, case, tag, k, m):
    for name, v in m.state_dict().items():
        if v.dtype.is_floating_point:
            arrays[f"{case}/{tag}{k}/{name}"] = v.detach().numpy().copy()


def train(arrays, case, cls, data, *, opt="sgd", clip=0.0, accum=1, batch=BATCH, ema=0.0, weight=None,
          smoothing=0.0, freeze=(), steps=3):
    """The standard PyTorch loop: (loss/accum).backward() every batch, a step every accum batches and at
    the end of an epoch; clip_grad_norm_ before the step, ModelEmaV2.update after it."""
    m = fresh(cls)
    head = "fc" if cls is CNN else "out"
    for n, p in m.named_parameters():
        if any(n.startswith(f) for f in freeze):
            p.requires_grad_(False)
    m.train()
    for mod in m.modules():
        # --freeze-bn: a BatchNorm whose parameters are all frozen runs as after .eval().
        if isinstance(mod, nn.BatchNorm2d) and freeze and not any(p.requires_grad for p in mod.parameters()):
            mod.eval()
    o = optimizer(m, head, opt)
    e = ModelEmaV2(m, decay=ema) if ema else None
    x, y = data
    bs = batches(x, y, batch)
    done = 0
    w = None if weight is None else torch.tensor(weight, dtype=torch.float32)
    while done < steps:
        o.zero_grad()
        for i, (xb, yb) in enumerate(bs):
            loss = F.cross_entropy(m(xb), yb, weight=w, label_smoothing=smoothing)
            (loss / accum).backward()
            if (i + 1) % accum == 0 or i == len(bs) - 1:
                if clip:
                    torch.nn.utils.clip_grad_norm_([p for p in m.parameters() if p.requires_grad], clip)
                o.step()
                o.zero_grad()
                done += 1
                record(arrays, case, "step", done, m)
                if e is not None:
                    e.update(m)
                    record(arrays, case, "ema", done, e.module)
                if done == steps:
                    break


def export(cls, x, path):
    m = fresh(cls).eval()
    torch.onnx.export(copy.deepcopy(m), (x[:BATCH],), path, dynamo=True, external_data=False, optimize=False,
                      input_names=["x"], output_names=["logits"])


def main():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(14)
    cx = torch.randn(32, 3, 6, 6, generator=g)
    cy = torch.tensor([0] * 16 + [1] * 10 + [2] * 6)[torch.randperm(32, generator=g)]
    mx = torch.randn(96, 10, generator=g)
    my = torch.randint(0, 4, (96,), generator=g)
    np.savez(os.path.join(OUT, "cnn_data.npz"), x=cx.numpy(), y=cy.numpy())
    np.savez(os.path.join(OUT, "mlp_data.npz"), x=mx.numpy(), y=my.numpy())
    np.savez(os.path.join(OUT, "mlp_tail.npz"), x=mx[:80].numpy(), y=my[:80].numpy())
    export(CNN, cx, os.path.join(OUT, "cnn.onnx"))
    export(MLP, mx, os.path.join(OUT, "mlp.onnx"))

    counts = np.bincount(cy.numpy(), minlength=3)
    balanced = (len(cy) / (3 * counts)).tolist()
    arrays = {"balanced/weights": np.array(balanced, dtype=np.float64)}
    cnn, mlp, tail = (cx, cy), (mx, my), (mx[:80], my[:80])
    train(arrays, "clip_sgd", CNN, cnn, clip=0.1)
    train(arrays, "clip_adamw", CNN, cnn, opt="adamw", clip=0.1)
    # 16 x 2 accumulated, and PyTorch's batch of 32 that it should equal.
    train(arrays, "accum", MLP, mlp, accum=2)
    train(arrays, "batch32", MLP, mlp, batch=32)
    train(arrays, "accum_adamw", MLP, mlp, opt="adamw", accum=2, clip=0.2)
    train(arrays, "batch32_adamw", MLP, mlp, opt="adamw", batch=32, clip=0.2)
    # 80 examples: batches 16 x 5, groups of 2, 2, 1 (the last steps alone, its loss still / 2).
    train(arrays, "accum_tail", MLP, tail, accum=2)
    train(arrays, "weights", CNN, cnn, weight=[0.5, 2.0, 1.5])
    train(arrays, "weights_smooth", CNN, cnn, weight=[0.5, 2.0, 1.5], smoothing=0.1)
    train(arrays, "balanced", CNN, cnn, opt="adamw", weight=balanced)
    train(arrays, "ema_sgd", CNN, cnn, ema=0.9)
    train(arrays, "ema_adamw", CNN, cnn, opt="adamw", ema=0.75)
    train(arrays, "freeze_bn", CNN, cnn, freeze=("conv1.", "bn1."))
    # The CLI test: clipping, class weights and EMA at once.
    train(arrays, "cli", CNN, cnn, clip=0.1, weight=[0.5, 2.0, 1.5], ema=0.9)
    np.savez(os.path.join(OUT, "expected.npz"), **arrays)
    import timm
    with open(os.path.join(OUT, "versions.json"), "w") as f:
        json.dump({"torch": torch.__version__, "timm": timm.__version__}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
