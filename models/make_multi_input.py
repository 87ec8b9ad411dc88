#!/usr/bin/python3
"""Fixtures for models with several inputs, fed by name: exports, PyTorch's outputs and SGD steps.

Run with the system interpreter (PyTorch 1.13, onnx 1.12; torch.onnx.export's TorchScript-based
exporter, the only one 1.13 has):

    /usr/bin/python3 models/make_multi_input.py

It imports nothing from the other generators and rewrites only models/multi/.  Seeded and
single-config (torch.set_num_threads(2), deterministic algorithms, fixed zip timestamps), so a
re-run on one machine rewrites the same files.  Three models, each with a dynamic batch
(dynamic_axes) and opset 13:

    text        input_ids int64 [batch, sequence], attention_mask int64 [batch, sequence]:
                Embedding(30,16), one TransformerEncoderLayer (2 heads, padding mask from
                attention_mask == 0), mean over the unmasked tokens, Linear(16,3)
    image_feat  image float32 [batch,3,8,8], features float64 [batch,4], scale float32 [] (0-d,
                one value for the whole batch): Conv-ReLU-pool on the image, Linear on the
                features (cast to float32), concatenated, times scale, Linear(8,3)
    masked_seq  x float32 [batch,6,5], mask bool [batch,6], segment int32 [batch,6]:
                Linear(5,8)(x) + Embedding(3,8)(segment), ReLU, masked mean over the sequence,
                Linear(8,2)

For every model <m> it writes, in models/multi/:

    <m>.onnx            the export (input names as above, output logits [batch, classes])
    <m>.data.npz        one array per graph input, named after it (0-d for scale), and y, the
                        class labels: the file the CLI's --data reads
    <m>.expected.npz    logits: PyTorch's eval output for the inputs of <m>.data.npz;
                        loss, accuracy: nn.CrossEntropyLoss (mean) and accuracy against y
    train/<m>_sgd.npz   the inputs and y of one fixed batch (the first 4 examples), loss [steps],
                        lrs [steps, groups], step<k>/<state_dict name> after steps 1 and 3 of SGD
                        (momentum 0.9, weight decay 1e-4, lr 0.01, head group at lr 0.05) in
                        model.train() on that batch
    train/<m>_epoch.npz the same SGD on all of <m>.data.npz in file order, batches of 3 (the last
                        smaller), one epoch: what `onnxtune train --shuffle=false --batch-size 3`
                        does; loss, lrs and step<k>/ after every step (the data is <m>.data.npz)
    train/cases.json    one object per case, in models/train/cases.json's format ("onnx" relative
                        to models/multi) plus "inputs" (the arrays that feed the model, in graph
                        order) and, for the epoch cases, "data" (the file, relative to
                        models/multi), "batch_size" and "shuffle"
"""

import io
import json
import os
import sys
import zipfile

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "multi")
TRAIN = os.path.join(OUT, "train")

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)


# ----------------------------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------------------------


class TextClassifier(nn.Module):
    """A tiny BERT-style classifier: token ids and an attention mask (1 = token, 0 = padding).

    As in make_models.py's TransformerClassifier, torch.onnx.export traces with grad enabled, so
    TransformerEncoderLayer takes its ordinary Python path (not the fused eval fast path), and the
    expected outputs are computed the same way."""

    def __init__(self, vocab=30, d=16, num_classes=3):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        layer = nn.TransformerEncoderLayer(d_model=d, nhead=2, dim_feedforward=32, batch_first=True, dropout=0.0)
        self.encoder = nn.TransformerEncoder(layer, num_layers=1, enable_nested_tensor=False)
        self.fc = nn.Linear(d, num_classes)

    def forward(self, input_ids, attention_mask):
        h = self.encoder(self.embed(input_ids), src_key_padding_mask=attention_mask == 0)
        m = attention_mask.unsqueeze(-1).to(h.dtype)
        return self.fc((h * m).sum(dim=1) / m.sum(dim=1))


class ImageFeat(nn.Module):
    """An image, a per-example feature vector (float64) and one scale for the whole batch (0-d)."""

    def __init__(self, num_classes=3):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.feat = nn.Linear(4, 4)
        self.fc = nn.Linear(8, num_classes)

    def forward(self, image, features, scale):
        a = torch.flatten(self.pool(F.relu(self.conv(image))), 1)
        b = F.relu(self.feat(features.float()))
        return self.fc(torch.cat([a, b], dim=1) * scale)


class MaskedSeq(nn.Module):
    """A sequence of vectors, a bool mask of the positions to use and an int32 segment id each."""

    def __init__(self, num_classes=2):
        super().__init__()
        self.proj = nn.Linear(5, 8)
        self.segment = nn.Embedding(3, 8)
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x, mask, segment):
        h = F.relu(self.proj(x) + self.segment(segment.long()))
        h = h.masked_fill(~mask.unsqueeze(-1), 0.0)
        return self.fc(h.sum(dim=1) / mask.sum(dim=1, keepdim=True).to(h.dtype))


# ----------------------------------------------------------------------------------------------
# Data (N = 7 examples each; every sequence has at least one unmasked position)
# ----------------------------------------------------------------------------------------------

N = 7


def gen(seed):
    return torch.Generator().manual_seed(seed)


def text_data():
    g = gen(2101)
    seq = 6
    lengths = torch.randint(2, seq + 1, (N,), generator=g)
    lengths[0] = seq
    mask = (torch.arange(seq)[None, :] < lengths[:, None]).to(torch.int64)
    ids = torch.randint(1, 30, (N, seq), generator=g) * mask
    y = torch.randint(0, 3, (N,), generator=g)
    return {"input_ids": ids, "attention_mask": mask}, y


def image_feat_data():
    g = gen(2201)
    image = torch.randn((N, 3, 8, 8), generator=g)
    features = torch.randn((N, 4), generator=g, dtype=torch.float64)
    scale = torch.tensor(1.5, dtype=torch.float32)
    y = torch.randint(0, 3, (N,), generator=g)
    return {"image": image, "features": features, "scale": scale}, y


def masked_seq_data():
    g = gen(2301)
    x = torch.randn((N, 6, 5), generator=g)
    mask = torch.rand((N, 6), generator=g) < 0.6
    mask[:, 0] = True
    segment = torch.randint(0, 3, (N, 6), generator=g, dtype=torch.int32)
    y = torch.randint(0, 2, (N,), generator=g)
    return {"x": x, "mask": mask, "segment": segment}, y


CASES = [
    # name, class, data, dynamic axes per input, head module
    ("text", TextClassifier, text_data,
     {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}}, "fc", 2100),
    ("image_feat", ImageFeat, image_feat_data, {"image": {0: "batch"}, "features": {0: "batch"}}, "fc", 2200),
    ("masked_seq", MaskedSeq, masked_seq_data, {"x": {0: "batch"}, "mask": {0: "batch"}, "segment": {0: "batch"}},
     "fc", 2300),
]


# ----------------------------------------------------------------------------------------------
# Files
# ----------------------------------------------------------------------------------------------


def save_npz(path, arrays):
    """np.savez with fixed zip timestamps, keys in the given order."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for key, arr in arrays.items():
            data = io.BytesIO()
            # np.ascontiguousarray would make a 0-d array 1-d.
            np.lib.format.write_array(data, np.asarray(arr, order="C"), allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data.getvalue())
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def to_json(obj, indent=0):
    """JSON with one object member / list-of-objects element per line and scalar lists inline."""
    pad = " " * indent
    if isinstance(obj, dict) and obj:
        items = ['%s "%s": %s' % (pad, k, to_json(v, indent + 1)) for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and any(isinstance(v, (dict, list)) for v in obj):
        items = [pad + " " + to_json(v, indent + 1) for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj)


def numpy_of(inputs):
    return {k: v.numpy() for k, v in inputs.items()}


def take(inputs, idx):
    """The examples idx of every batched input; 0-d inputs stay as they are."""
    return {k: (v if v.dim() == 0 else v[idx]) for k, v in inputs.items()}


# ----------------------------------------------------------------------------------------------
# Export, outputs, training
# ----------------------------------------------------------------------------------------------


def export(model, inputs, axes, path):
    names = list(inputs)
    dyn = dict(axes)
    dyn["logits"] = {0: "batch"}
    buf = io.BytesIO()
    model.eval()
    torch.onnx.export(model, tuple(inputs[k] for k in names), buf, input_names=names, output_names=["logits"],
                      dynamic_axes=dyn, opset_version=13)
    b = buf.getvalue()
    m = onnx.load_from_string(b)
    onnx.checker.check_model(m)
    got = [i.name for i in m.graph.input if i.name not in {t.name for t in m.graph.initializer}]
    assert got == names, (path, got, names)
    with open(path, "wb") as f:
        f.write(b)
    return m


def eval_logits(model, inputs):
    """Eval-mode output with grad enabled, the code path the export traced."""
    model.eval()
    return model(*inputs.values()).detach()


def check_initializers(model, m):
    """Every parameter of the module is in the export, bit for bit, under its state_dict name or
    (Linear weights the exporter stored transposed for MatMul) as a transposed copy."""
    inits = [numpy_helper.to_array(t) for t in m.graph.initializer]
    for k, p in model.state_dict().items():
        v = p.numpy()
        if not any(a.shape == v.shape and a.tobytes() == v.tobytes() or
                   a.ndim == 2 and a.T.shape == v.shape and np.ascontiguousarray(a.T).tobytes() == v.tobytes()
                   for a in inits):
            raise ValueError("%s is not among the initializers of the export" % k)


def split_groups(model, head):
    base, hp, bn, hn = [], [], [], []
    for k, p in model.named_parameters():
        (hp if k.split(".")[0] == head else base).append(p)
        (hn if k.split(".")[0] == head else bn).append(k)
    return base, hp, bn, hn


def saved_state(model):
    return {k: v.detach().clone().numpy() for k, v in model.state_dict().items()}


def train_steps(model, head, batches, save_steps):
    """SGD (lr 0.01, head group 0.05, momentum 0.9, weight decay 1e-4) in train mode, one step per
    (inputs, y) of batches.  Returns losses, lrs and the saved states by step."""
    base, hp, bn, hn = split_groups(model, head)
    opt = torch.optim.SGD([{"params": base}, {"params": hp, "lr": 0.05}], lr=0.01, momentum=0.9, weight_decay=1e-4)
    model.train()
    losses, lrs, saved = [], [], {}
    for s, (inputs, y) in enumerate(batches, 1):
        lrs.append([g["lr"] for g in opt.param_groups])
        opt.zero_grad()
        loss = F.cross_entropy(model(*inputs.values()), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if s in save_steps:
            for k, v in saved_state(model).items():
                saved["step%d/%s" % (s, k)] = v
    groups = [{"params": bn}, {"params": hn, "lr": 0.05}]
    return losses, lrs, saved, groups


def make(name, cls, data, axes, head, seed):
    torch.manual_seed(seed)
    model = cls()
    inputs, y = data()
    m = export(model, inputs, axes, os.path.join(OUT, name + ".onnx"))
    check_initializers(model, m)
    start = saved_state(model)

    save_npz(os.path.join(OUT, name + ".data.npz"), dict(numpy_of(inputs), y=y.numpy()))
    logits = eval_logits(model, inputs)
    loss = F.cross_entropy(logits, y).item()
    acc = (logits.argmax(1) == y).double().mean().item()
    save_npz(os.path.join(OUT, name + ".expected.npz"),
             {"logits": logits.numpy(), "loss": np.array(loss), "accuracy": np.array(acc)})

    sgd = {"type": "SGD", "lr": 0.01, "momentum": 0.9, "dampening": 0.0, "nesterov": False, "weight_decay": 1e-4}
    ce = {"fn": "cross_entropy", "reduction": "mean", "label_smoothing": 0.0}
    cases = []

    # Three steps on one fixed batch of 4.
    fixed = take(inputs, torch.arange(4))
    fy = y[:4]
    losses, lrs, saved, groups = train_steps(model, head, [(fixed, fy)] * 3, (1, 3))
    arrays = dict(numpy_of(fixed), y=fy.numpy(), loss=np.array(losses, dtype=np.float32),
                  lrs=np.array(lrs, dtype=np.float64))
    arrays.update(saved)
    save_npz(os.path.join(TRAIN, name + "_sgd.npz"), arrays)
    cases.append({"name": name + "_sgd", "file": name + "_sgd.npz", "onnx": name + ".onnx",
                  "inputs": list(inputs), "train_mode": True, "steps": 3, "saved_steps": [1, 3], "loss": ce,
                  "optimizer": sgd, "groups": groups, "frozen": [], "schedule": None})
    print("  %-16s loss %s" % (name + "_sgd", " ".join("%.6f" % v for v in losses)))

    # One epoch over the whole file in order, batches of 3.
    model.load_state_dict({k: torch.from_numpy(v) for k, v in start.items()})
    bs = 3
    batches = [(take(inputs, torch.arange(i, min(i + bs, N))), y[i:i + bs]) for i in range(0, N, bs)]
    steps = len(batches)
    losses, lrs, saved, groups = train_steps(model, head, batches, tuple(range(1, steps + 1)))
    arrays = dict(loss=np.array(losses, dtype=np.float32), lrs=np.array(lrs, dtype=np.float64))
    arrays.update(saved)
    save_npz(os.path.join(TRAIN, name + "_epoch.npz"), arrays)
    cases.append({"name": name + "_epoch", "file": name + "_epoch.npz", "onnx": name + ".onnx",
                  "inputs": list(inputs), "data": name + ".data.npz", "batch_size": bs, "shuffle": False, "train_mode": True, "steps": steps,
                  "saved_steps": list(range(1, steps + 1)), "loss": ce, "optimizer": sgd, "groups": groups,
                  "frozen": [], "schedule": None})
    print("  %-16s loss %s" % (name + "_epoch", " ".join("%.6f" % v for v in losses)))
    return cases


def main():
    import warnings
    warnings.filterwarnings("ignore")
    print("torch %s, onnx %s -> %s" % (torch.__version__, onnx.__version__, OUT))
    os.makedirs(TRAIN, exist_ok=True)
    cases = []
    for c in CASES:
        cases += make(*c)
    with open(os.path.join(TRAIN, "cases.json"), "w") as f:
        f.write(to_json(cases) + "\n")
    for d in (OUT, TRAIN):
        for f in sorted(os.listdir(d)):
            p = os.path.join(d, f)
            if os.path.isfile(p):
                print("  wrote %-40s %7d bytes" % (os.path.relpath(p, HERE), os.path.getsize(p)))


if __name__ == "__main__":
    sys.exit(main())
