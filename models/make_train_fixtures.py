#!/usr/bin/python3
"""Training fixtures: PyTorch's own updated weights after a few optimizer steps on the sample models.

Run with the system interpreter (PyTorch 1.13), after make_models.py has written the models:

    /usr/bin/python3 models/make_train_fixtures.py

For every case the PyTorch module is rebuilt from make_models.py's classes and loaded with exactly the
initializers stored in the .onnx file (names are the state_dict names in the exports used here), then
trained for a few steps on one fixed batch.  Writes models/train/:

    <case>.npz        x, y, loss [steps], lrs [steps, groups], step<k>/<state_dict name> (see README)
    cases.json        one object per case: model, optimizer, groups, schedule, loss, saved steps
    whole_job.json    the MNIST remap + fine-tune reference figure (accuracy before/after, 3 seeds)

Seeded and single-config (torch.set_num_threads(2), deterministic algorithms, fixed zip timestamps), so a
re-run rewrites byte-identical files.  Needs `go` on PATH for MNIST (as make_models.py).
"""

import os
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_models as mm  # noqa: E402  (top level only defines things and sets torch threads/determinism)

OUT = os.path.join(HERE, "train")

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)


# ----------------------------------------------------------------------------------------------
# Loading ONNX initializers into the PyTorch module
# ----------------------------------------------------------------------------------------------


def onnx_tensors(path):
    """name -> numpy array for every initializer, plus the outputs of Identity nodes fed by one
    (the exporter ties identical tensors that way)."""
    m = onnx.load(path)
    t = {i.name: numpy_helper.to_array(i).copy() for i in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type == "Identity" and n.input[0] in t:
            t[n.output[0]] = t[n.input[0]]
    return t


def load_from_onnx(model, onnx_file, rename=None, skip=()):
    """Copy the .onnx initializers into `model` by state_dict name (`rename` maps a state_dict name to
    an initializer name; names in `skip` are left alone).  num_batches_tracked is not exported: it
    stays at the fresh module's 0 (it only matters when BatchNorm momentum is None)."""
    t = onnx_tensors(os.path.join(HERE, onnx_file))
    rename = rename or {}
    sd = model.state_dict()
    new = {}
    for k, v in sd.items():
        if k.endswith("num_batches_tracked") or k in skip:
            continue
        src = rename.get(k, k)
        if src not in t:
            raise KeyError("%s: no initializer %r for %r" % (onnx_file, src, k))
        a = t[src]
        if tuple(a.shape) != tuple(v.shape):
            raise ValueError("%s: %s has shape %s, module wants %s" % (onnx_file, src, a.shape, tuple(v.shape)))
        new[k] = torch.from_numpy(a)
    res = model.load_state_dict(new, strict=False)
    missing = [k for k in res.missing_keys if not k.endswith("num_batches_tracked") and k not in skip]
    assert not missing and not res.unexpected_keys, (missing, res.unexpected_keys)
    return model


def check_expected(model, name):
    """The loaded module must reproduce make_models.py's expected eval logits for the export."""
    e = np.load(os.path.join(HERE, name + ".expected.npz"))
    got = mm.eval_logits(model, torch.from_numpy(e["x"]))
    err = float(np.abs(got - e["logits"]).max())
    assert err < 1e-5, (name, err)


def build(cls, onnx_name, **kw):
    m = cls(**kw)
    load_from_onnx(m, onnx_name + ".onnx")
    check_expected(m, onnx_name)
    return m


# ----------------------------------------------------------------------------------------------
# Step cases
# ----------------------------------------------------------------------------------------------


def labels(n, classes, gen_seed):
    g = torch.Generator().manual_seed(gen_seed)
    return torch.randint(0, classes, (n,), generator=g, dtype=torch.int64)


def saved_state(model):
    """Parameters and BN running statistics (state_dict order), without num_batches_tracked."""
    return {k: v.detach().clone().numpy() for k, v in model.state_dict().items()
            if not k.endswith("num_batches_tracked")}


def split_groups(model, head):
    """(backbone params, head params, backbone names, head names) in named_parameters order,
    skipping parameters with requires_grad False."""
    base, hp, bn, hn = [], [], [], []
    for k, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if k.split(".")[0] == head:
            hp.append(p)
            hn.append(k)
        else:
            base.append(p)
            bn.append(k)
    return base, hp, bn, hn


def run_case(name, model, opt, x, y, steps, save_steps, sched=None, label_smoothing=0.0):
    """model.train(); `steps` times: zero_grad, cross_entropy (mean), backward, opt.step(), then
    sched.step() if any.  Records loss and the lr of every group used by each step."""
    init = saved_state(model)
    model.train()
    arrays = {"x": x.numpy(), "y": y.numpy()}
    losses, lrs = [], []
    for s in range(1, steps + 1):
        lrs.append([g["lr"] for g in opt.param_groups])
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y, label_smoothing=label_smoothing)
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        losses.append(loss.item())
        if s in save_steps:
            for k, v in saved_state(model).items():
                arrays["step%d/%s" % (s, k)] = v
    arrays["loss"] = np.array(losses, dtype=np.float32)
    arrays["lrs"] = np.array(lrs, dtype=np.float64)
    # Keep keys in a stable, readable order: x, y, loss, lrs, step*/...
    ordered = {k: arrays[k] for k in ("x", "y", "loss", "lrs")}
    ordered.update({k: v for k, v in arrays.items() if k not in ordered})
    mm.save_npz(os.path.join(OUT, name + ".npz"), **ordered)
    print("  %-22s loss %s  lrs %s" % (name, " ".join("%.6f" % l for l in losses),
                                         [[round(v, 8) for v in r] for r in lrs]))
    return init, ordered


def sgd_groups(model, head, base_lr, head_lr, **kw):
    base, hp, bn, hn = split_groups(model, head)
    opt = torch.optim.SGD([{"params": base}, {"params": hp, "lr": head_lr}], lr=base_lr, **kw)
    return opt, bn, hn


def make_step_cases():
    cases = []
    lenet_x = mm.fixed_input((8, 3, 32, 32), 1101)
    lenet_y = labels(8, 10, 1102)
    bn_x = mm.fixed_input((8, 3, 16, 16), 1201)
    bn_y = labels(8, 4, 1202)
    sgd_kw = dict(momentum=0.9, weight_decay=1e-4)
    sgd_desc = {"type": "SGD", "lr": 0.001, "momentum": 0.9, "dampening": 0.0, "nesterov": False,
                "weight_decay": 1e-4}
    lenet_common = {"onnx": "lenet.onnx", "arch": "lenet", "input_shape": [8, 3, 32, 32], "num_classes": 10,
                    "x_seed": 1101, "y_seed": 1102}
    bn_common = {"onnx": "bn_cnn_preserve.onnx", "arch": "bn_cnn", "input_shape": [8, 3, 16, 16],
                 "num_classes": 4, "x_seed": 1201, "y_seed": 1202}
    ce = {"fn": "cross_entropy", "reduction": "mean", "label_smoothing": 0.0}

    def entry(name, common, opt_desc, groups, steps, saved, **extra):
        e = {"name": name, "file": name + ".npz"}
        e.update(common)
        e.update({"train_mode": True, "steps": steps, "saved_steps": saved, "loss": dict(ce),
                  "optimizer": opt_desc, "groups": groups, "frozen": [], "schedule": None})
        e.update(extra)
        return e

    # 1. lenet_sgd
    torch.manual_seed(0)
    m = build(mm.LeNet, "lenet")
    opt, bn, hn = sgd_groups(m, "fc3", 0.001, 0.01, **sgd_kw)
    run_case("lenet_sgd", m, opt, lenet_x, lenet_y, 3, (1, 3))
    cases.append(entry("lenet_sgd", lenet_common, sgd_desc,
                       [{"params": bn}, {"params": hn, "lr": 0.01}], 3, [1, 3]))

    # 2. bn_cnn_sgd
    torch.manual_seed(0)
    m = build(mm.BNCNN, "bn_cnn_preserve")
    opt, bn, hn = sgd_groups(m, "fc", 0.001, 0.01, **sgd_kw)
    run_case("bn_cnn_sgd", m, opt, bn_x, bn_y, 3, (1, 3))
    cases.append(entry("bn_cnn_sgd", bn_common, sgd_desc,
                       [{"params": bn}, {"params": hn, "lr": 0.01}], 3, [1, 3],
                       batchnorm={"momentum": 0.1, "eps": 1e-5, "running_var": "unbiased batch variance"}))

    # 3. lenet_adamw
    torch.manual_seed(0)
    m = build(mm.LeNet, "lenet")
    base, hp, bn, hn = split_groups(m, "fc3")
    opt = torch.optim.AdamW([{"params": base}, {"params": hp, "lr": 1e-2}], lr=1e-3, weight_decay=0.01)
    run_case("lenet_adamw", m, opt, lenet_x, lenet_y, 3, (1, 3))
    cases.append(entry("lenet_adamw", lenet_common,
                       {"type": "AdamW", "lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.01,
                        "amsgrad": False},
                       [{"params": bn}, {"params": hn, "lr": 1e-2}], 3, [1, 3]))

    # 4. bn_cnn_frozen
    torch.manual_seed(0)
    m = build(mm.BNCNN, "bn_cnn_preserve")
    for k, p in m.named_parameters():
        if k.startswith("conv1."):
            p.requires_grad_(False)
    opt, bn, hn = sgd_groups(m, "fc", 0.001, 0.01, **sgd_kw)
    init, arrays = run_case("bn_cnn_frozen", m, opt, bn_x, bn_y, 3, (1, 3))
    for k in ("conv1.weight", "conv1.bias"):
        for s in (1, 3):
            assert arrays["step%d/%s" % (s, k)].tobytes() == init[k].tobytes(), k
    cases.append(entry("bn_cnn_frozen", bn_common, sgd_desc,
                       [{"params": bn}, {"params": hn, "lr": 0.01}], 3, [1, 3],
                       frozen=["conv1.weight", "conv1.bias"],
                       batchnorm={"momentum": 0.1, "eps": 1e-5, "running_var": "unbiased batch variance"}))

    # 5. mlp_bn_sgd_nesterov (Dropout p set to 0: the eval export has no Dropout node)
    torch.manual_seed(0)
    m = build(mm.MLPBN, "mlp_bn_eval")
    m.dropout.p = 0.0
    x = mm.fixed_input((8, 20), 1501)
    y = labels(8, 3, 1502)
    opt = torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, dampening=0, nesterov=True, weight_decay=1e-4)
    run_case("mlp_bn_sgd_nesterov", m, opt, x, y, 3, (1, 3), label_smoothing=0.1)
    names = [k for k, _ in m.named_parameters()]
    cases.append(entry("mlp_bn_sgd_nesterov",
                       {"onnx": "mlp_bn_eval.onnx", "arch": "mlp_bn", "input_shape": [8, 20], "num_classes": 3,
                        "x_seed": 1501, "y_seed": 1502},
                       {"type": "SGD", "lr": 0.05, "momentum": 0.9, "dampening": 0.0, "nesterov": True,
                        "weight_decay": 1e-4},
                       [{"params": names}], 3, [1, 3],
                       loss=dict(ce, label_smoothing=0.1), dropout_p=0.0,
                       batchnorm={"momentum": 0.1, "eps": 1e-5, "running_var": "unbiased batch variance"}))

    # 6. LeNet SGD (recipe 1) with lr schedules, stepped after every optimizer step, 4 steps.
    scheds = [
        ("lenet_sgd_step", lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.5),
         {"type": "StepLR", "step_size": 2, "gamma": 0.5}),
        ("lenet_sgd_cosine", lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=4),
         {"type": "CosineAnnealingLR", "T_max": 4, "eta_min": 0.0}),
        ("lenet_sgd_warmup", lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.25, total_iters=2),
         {"type": "LinearLR", "start_factor": 0.25, "end_factor": 1.0, "total_iters": 2}),
    ]
    for name, make, desc in scheds:
        torch.manual_seed(0)
        m = build(mm.LeNet, "lenet")
        opt, bn, hn = sgd_groups(m, "fc3", 0.001, 0.01, **sgd_kw)
        run_case(name, m, opt, lenet_x, lenet_y, 4, (4,), sched=make(opt))
        desc = dict(desc, stepped="after every optimizer step (each step is one scheduler epoch)")
        cases.append(entry(name, lenet_common, sgd_desc,
                           [{"params": bn}, {"params": hn, "lr": 0.01}], 4, [4], schedule=desc))
    return cases


# ----------------------------------------------------------------------------------------------
# Whole job: MNIST 0-4 backbone + fresh 10-way head, fine-tuned on 500 digits
# ----------------------------------------------------------------------------------------------


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(x[i: i + 1000]).argmax(1) for i in range(0, len(x), 1000)])
    return int((pred == y).sum().item())


def remapped_model():
    """Backbone (conv1, conv2, fc1, fc2) from mnist_lenet_0to4, fc3 from mnist_lenet_10."""
    m = mm.MnistLeNet(num_classes=10)
    load_from_onnx(m, "mnist_lenet_10.onnx")
    check_expected(m, "mnist_lenet_10")
    t = onnx_tensors(os.path.join(HERE, "mnist_lenet_0to4.onnx"))
    with torch.no_grad():
        for k, p in m.named_parameters():
            if not k.startswith("fc3."):
                assert tuple(t[k].shape) == tuple(p.shape), k
                p.copy_(torch.from_numpy(t[k]))
    return m


def whole_job():
    xtr, ytr = mm.load_mnist("train")
    xte, yte = mm.load_mnist("test")
    per_digit = 50
    idx = sorted(i for d in range(10) for i in torch.nonzero(ytr == d).flatten()[:per_digit].tolist())
    idx_t = torch.tensor(idx, dtype=torch.int64)
    xs, ys = xtr[idx_t], ytr[idx_t]
    n = len(idx)

    before = accuracy(remapped_model(), xte, yte)
    epochs, bs = 10, 32
    seeds = [1, 2, 3]
    after, epoch_losses = [], []
    for sd in seeds:
        torch.manual_seed(sd)
        m = remapped_model()
        base, hp, _, _ = split_groups(m, "fc3")
        opt = torch.optim.SGD([{"params": base}, {"params": hp, "lr": 0.1}], lr=0.01,
                              momentum=0.9, weight_decay=1e-4)
        g = torch.Generator().manual_seed(sd)
        losses = []
        for ep in range(epochs):
            m.train()
            perm = torch.randperm(n, generator=g)
            tot = 0.0
            for i in range(0, n, bs):
                b = perm[i: i + bs]
                opt.zero_grad()
                loss = F.cross_entropy(m(xs[b]), ys[b])
                loss.backward()
                opt.step()
                tot += loss.item() * len(b)
            losses.append(round(tot / n, 6))
        after.append(accuracy(m, xte, yte))
        epoch_losses.append(losses)
        print("  whole job seed %d: test accuracy %.4f, epoch losses %s" % (sd, after[-1] / len(yte), losses))

    nt = len(yte)
    acc_after = [a / nt for a in after]
    out = {
        "recipe": {
            "model": "MnistLeNet (1x28x28, 10 classes): conv1, conv2, fc1, fc2 from mnist_lenet_0to4.onnx; "
                     "fc3 (Linear(84,10)) from mnist_lenet_10.onnx",
            "train_data": "MNIST train set: for each digit its first %d occurrences in the train file, "
                          "kept in file order (%d images)" % (per_digit, n),
            "normalize": "((pixel/255) - 0.1307) / 0.3081",
            "epochs": epochs,
            "batch_size": bs,
            "last_batch": "kept (%d images)" % (n % bs if n % bs else bs),
            "shuffle": "torch.randperm(%d, generator=torch.Generator().manual_seed(seed)) each epoch" % n,
            "mode": "model.train() while training, model.eval() for test accuracy",
            "loss": "cross_entropy, mean over the batch",
            "optimizer": {"type": "SGD", "momentum": 0.9, "dampening": 0.0, "nesterov": False,
                          "weight_decay": 1e-4, "weight_decay_on": "all parameters (biases included)"},
            "groups": [{"params": ["conv1.*", "conv2.*", "fc1.*", "fc2.*"], "lr": 0.01},
                       {"params": ["fc3.*"], "lr": 0.1}],
            "test_data": "all %d MNIST test digits" % nt,
        },
        "train_indices": idx,
        "seeds": seeds,
        "test_images": nt,
        "correct_before": before,
        "accuracy_before": before / nt,
        "correct_after": after,
        "accuracy_after": acc_after,
        "accuracy_after_mean": sum(acc_after) / len(acc_after),
        "epoch_mean_loss": epoch_losses,
    }
    mm.write_json(os.path.join(OUT, "whole_job.json"), out)
    print("  whole job: accuracy before %.4f, after %s, mean %.4f"
          % (out["accuracy_before"], ["%.4f" % a for a in acc_after], out["accuracy_after_mean"]))


def main():
    import warnings
    warnings.filterwarnings("ignore")
    print("torch %s, onnx %s -> %s" % (torch.__version__, onnx.__version__, OUT))
    os.makedirs(OUT, exist_ok=True)
    cases = make_step_cases()
    mm.write_json(os.path.join(OUT, "cases.json"), cases)
    whole_job()
    total = 0
    for f in sorted(os.listdir(OUT)):
        sz = os.path.getsize(os.path.join(OUT, f))
        total += sz
        print("  wrote models/train/%-28s %8d bytes" % (f, sz))
    print("  %d bytes total" % total)


if __name__ == "__main__":
    sys.exit(main())
