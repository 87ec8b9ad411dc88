"""Fixed-batch exports for remap.DynamicBatch: models exported as users have them from current
PyTorch (both exporters, no dynamic_shapes / dynamic_axes, so every dimension is fixed at the
exported batch B = 2), and PyTorch's own outputs at other batch sizes.

    bash scripts/reference-tools.sh              # .venv with current torch, onnx, onnxruntime
    .venv/bin/python models/make_batch_cases.py  # -> models/batch/

For every case <name> and exporter <e> in (dynamo, ts) it writes models/batch/<name>_<e>.onnx, and
per case models/batch/<name>.npz with
    x_<n>     the input at batch n (n = 1, 3, 8; the first n examples of one fixed batch of 8)
    y_<n>     PyTorch's eval-mode output for x_<n>
and models/batch/cases.json: per case, whether onnxtune must make it run at any batch ("dynamic")
or refuse ("pinned"), and for a refusal the ONNX node that the refusal must name, found in the
exported file (the first node of the op that computes across the batch).
"""

import json
import os
import warnings

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "batch")
B = 2
BATCHES = (1, 3, 8)

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)
warnings.filterwarnings("ignore")


class ViewCNN(nn.Module):
    """Conv, BatchNorm, pooling, then x.view(x.size(0), -1): a Reshape to [B, 392]."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8 * 7 * 7, 5)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)
        return self.fc(x.view(x.size(0), -1))


class TinyEncoder(nn.Module):
    """Token ids -> embedding -> one batch-first TransformerEncoderLayer -> mean -> classes:
    multi-head attention reshapes to [B, S, heads, D] and back."""

    def __init__(self, vocab=20, d=16, heads=2, seq=6, classes=3):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.randn(1, seq, d) * 0.1)
        self.layer = nn.TransformerEncoderLayer(d, heads, dim_feedforward=32, dropout=0.0, batch_first=True)
        self.head = nn.Linear(d, classes)

    def forward(self, ids):
        h = self.layer(self.emb(ids) + self.pos)
        return self.head(h.mean(dim=1))


class ClsToken(nn.Module):
    """A class token expanded to the batch and concatenated to the patches (ViT style)."""

    def __init__(self, d=8, classes=4):
        super().__init__()
        self.proj = nn.Linear(4, d)
        self.cls = nn.Parameter(torch.randn(1, 1, d))
        self.head = nn.Linear(d, classes)

    def forward(self, x):  # x: [B, 5, 4]
        p = self.proj(x)
        c = self.cls.expand(x.shape[0], -1, -1)
        h = torch.cat([c, p], dim=1)
        return self.head(torch.tanh(h).sum(dim=1))


class ZerosState(nn.Module):
    """A state created for the batch: torch.zeros(x.size(0), 6) added to a projection."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 6)

    def forward(self, x):
        h = torch.zeros(x.size(0), 6)
        return self.fc(x) + h + 1


class Repeat(nn.Module):
    """A parameter repeated over the batch: pos.repeat(x.size(0), 1, 1) (Tile, or a folded
    [B, 5, 8] constant in the dynamo export)."""

    def __init__(self):
        super().__init__()
        self.pos = nn.Parameter(torch.randn(1, 5, 8))
        self.head = nn.Linear(8, 3)

    def forward(self, x):  # x: [B, 5, 8]
        return self.head((x + self.pos.repeat(x.size(0), 1, 1)).mean(1))


class FlipBatch(nn.Module):
    """Adds the batch in reverse order: each example's output depends on another's."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 3)

    def forward(self, x):
        return self.fc(x + x.flip(0))


class MaxBatch(nn.Module):
    """Subtracts the maximum over the batch."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 3)

    def forward(self, x):
        return self.fc(x - x.max(dim=0, keepdim=True).values)


class AcrossBatch(nn.Module):
    """Subtracts the batch mean: each example's output depends on the others, so no rewrite can
    make it per-example."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 3)

    def forward(self, x):
        return self.fc(x - x.mean(dim=0, keepdim=True))


class LSTMTagger(nn.Module):
    """A batch-first LSTM classifier: the exporters transpose to [S, B, I] for the LSTM (layout 0);
    its zeros state is [1, B, 8] (computed from the input's shape by TorchScript, a folded constant
    read by the LSTM in the dynamo export)."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(5, 8, batch_first=True)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):  # x: [B, S, 5]
        y, _ = self.lstm(x)
        return self.fc(y[:, -1])


class SeqFirstGRU(nn.Module):
    """A sequence-first bidirectional two-layer GRU: the input is [S, B, I], its batch on axis 1."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(5, 6, num_layers=2, bidirectional=True)
        self.fc = nn.Linear(12, 3)

    def forward(self, x):  # x: [S, B, 5]
        y, h = self.gru(x)
        return self.fc(y[-1]) + h[-1].sum(-1, keepdim=True)


class TokenTypes(nn.Module):
    """RoBERTa's default token types: a buffer expanded to the batch and read by gather with
    positions computed from the ids (GatherElements with batched indices), and BERT's
    buffer[:, :S].expand(B, S), whose target TorchScript computes with Where(Equal(shape, -1))."""

    def __init__(self):
        super().__init__()
        self.register_buffer("types", torch.zeros(1, 10, dtype=torch.long), persistent=False)
        self.emb = nn.Embedding(12, 8)
        self.type_emb = nn.Embedding(2, 8)
        self.head = nn.Linear(8, 3)

    def forward(self, ids):  # ids: [B, 6] in [0, 12)
        b, s = ids.shape
        pos = torch.cumsum(ids.ne(1).long(), dim=1)
        t1 = self.types.expand(b, 10).gather(1, pos)
        t2 = self.types[:, :s].expand(b, s)
        h = self.emb(ids) + self.type_emb(t1) + self.type_emb(t2)
        return self.head(torch.tanh(h).mean(1))


class StridedConvNeXt(nn.Module):
    """torchvision's ConvNeXt at its smallest (two one-block stages, 8 and 16 channels): the
    dynamo exporter lowers an as_strided of the pooled features to a Gather with constant
    indices [B, 16, 1, 1] computed for the exported batch."""

    def __init__(self):
        super().__init__()
        from torchvision.models import convnext

        self.net = convnext.ConvNeXt([convnext.CNBlockConfig(8, 16, 1), convnext.CNBlockConfig(16, None, 1)],
                                     num_classes=3)

    def forward(self, x):
        return self.net(x)


def inputs(name, n):
    g = torch.Generator().manual_seed(7)
    if name == "encoder":
        full = torch.randint(0, 20, (8, 6), generator=g)
    elif name == "view_cnn":
        full = torch.randn(8, 1, 14, 14, generator=g)
    elif name == "cls_token":
        full = torch.randn(8, 5, 4, generator=g)
    elif name == "repeat":
        full = torch.randn(8, 5, 8, generator=g)
    elif name == "lstm_tagger":
        full = torch.randn(8, 6, 5, generator=g)
    elif name.startswith("seq_first_gru"):
        return torch.randn(7, 8, 5, generator=g)[:, :n]  # [S, B, I]: the batch on axis 1
    elif name == "token_types":
        full = torch.randint(0, 12, (8, 6), generator=g)
    elif name == "strided_convnext":
        full = torch.randn(8, 3, 16, 16, generator=g)
    else:
        full = torch.randn(8, 10, generator=g)
    return full[:n]


CASES = [
    ("view_cnn", ViewCNN, "dynamic", None),
    ("encoder", TinyEncoder, "dynamic", None),
    ("cls_token", ClsToken, "dynamic", None),
    ("zeros_state", ZerosState, "dynamic", None),
    ("across_batch", AcrossBatch, "pinned", "ReduceMean"),
    ("repeat", Repeat, "dynamic", None),
    ("flip_batch", FlipBatch, "pinned", "Slice"),
    ("max_batch", MaxBatch, "pinned", "ReduceMax"),
    # Exported at batch 1, the most common choice: a mean over the batch of one example is that
    # example, so only the proof's other examples show it.
    ("across_batch_b1", AcrossBatch, "pinned", "ReduceMean"),
    # Recurrent ops (layout 0: the batch on axis 1 of X and of the states).
    ("lstm_tagger", LSTMTagger, "dynamic", None),
    ("seq_first_gru", SeqFirstGRU, "dynamic", None),
    ("seq_first_gru_b1", SeqFirstGRU, "dynamic", None),
    ("token_types", TokenTypes, "dynamic", None),
    ("strided_convnext", StridedConvNeXt, "dynamic", None),
]

# The exported batch of each case (B unless listed).
EXPORT_BATCH = {"across_batch_b1": 1, "seq_first_gru_b1": 1}


def culprit(path, op):
    m = onnx.load(path)
    for n in m.graph.node:
        if n.op_type == op:
            return n.name
    raise SystemExit(f"{path}: no {op} node")


def main():
    os.makedirs(OUT, exist_ok=True)
    meta = {"torch": torch.__version__, "onnx": onnx.__version__, "exported_batch": B, "batches": list(BATCHES), "cases": []}
    for name, cls, want, op in CASES:
        torch.manual_seed(0)
        model = cls().eval()
        if name == "view_cnn":  # running statistics that are not the defaults
            with torch.no_grad():
                model.bn.running_mean.uniform_(-0.5, 0.5)
                model.bn.running_var.uniform_(0.5, 1.5)
        x = inputs(name, EXPORT_BATCH.get(name, B))
        arrays = {}
        with torch.no_grad():
            for n in BATCHES:
                xn = inputs(name, n)
                arrays[f"x_{n}"] = xn.numpy()
                arrays[f"y_{n}"] = model(xn).numpy()
        np.savez(os.path.join(OUT, name + ".npz"), **arrays)
        case = {"name": name, "want": want, "exported_batch": EXPORT_BATCH.get(name, B), "files": {}}
        for exporter, dynamo in (("dynamo", True), ("ts", False)):
            path = os.path.join(OUT, f"{name}_{exporter}.onnx")
            kw = {"dynamo": dynamo}
            if dynamo and name != "view_cnn":  # view_cnn keeps the exporter's default side file
                kw["external_data"] = False
            if not dynamo:
                kw.update(input_names=["x"], output_names=["y"], opset_version=17)
            torch.onnx.export(model, (x,), path, **kw)
            onnx.checker.check_model(path)
            case["files"][exporter] = {"file": os.path.basename(path)}
            if op:
                case["files"][exporter]["culprit"] = culprit(path, op)
        meta["cases"].append(case)
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
