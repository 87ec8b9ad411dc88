#!/usr/bin/env python3
"""A small CNN with nn.GroupNorm and nn.InstanceNorm2d, exported by current PyTorch, with PyTorch's outputs and
three SGD steps: the fixtures of InstanceNormalization and GroupNormalization (issue 13).

Run with the repository's reference virtual environment (scripts/reference-tools.sh installs torch 2.14.1,
onnx, onnxscript, onnxruntime into .venv):

    .venv/bin/python models/make_norms.py        # writes models/norms/, a few seconds on 2 cores

The network (input 3x8x8, 4 classes): Conv 3->8, nn.GroupNorm(2, 8), ReLU, Conv 8->8,
nn.InstanceNorm2d(8, affine=True), ReLU, nn.InstanceNorm2d(8) (no affine: no parameter), a global average
pool and a Linear head. Every parameter is seeded.

What the exporters of torch 2.14 write for them (the reason for two models of the same network):
- nn.InstanceNorm2d: InstanceNormalization, weight and bias as inputs 1 and 2 (both exporters, every opset);
  without affine, constant ones and zeros there.
- nn.GroupNorm, TorchScript (any opset) and dynamo at its default opset 18: Reshape to [N, groups, -1],
  InstanceNormalization with constant ones and zeros, Reshape back, Mul by the weight and Add the bias
  (stored [C, 1, 1]);
- nn.GroupNorm, dynamo at opset 21: GroupNormalization with num_groups, weight and bias per channel.

It reuses make_today.py: its export, storage, loading and training helpers and its main, writing models/norms/
in models/today's layout (train/norms_parity_test.go reads it with the harness of train/today_parity_test.go):

    norms_dynamo.onnx, norms_ts.onnx       torch.onnx.export(..., dynamo=True) and (..., dynamo=False), fixed
                                           shapes, eval mode, default opset, input "input", output "logits"
    norms21_dynamo.onnx, norms21_ts.onnx   the same network exported with opset_version=21 (the manifest's
                                           kwargs are make_today's; the file's opset is in its "facts")
    norms.expected.npz, norms21.expected.npz   x at the export batch (2) and PyTorch's eval logits
    norms_sgd.npz, norms21_sgd.npz         3 steps of torch.optim.SGD (momentum 0.9, weight decay 1e-4) at batch
                                           5, two groups: the backbone at lr 0.01, "head.*" at lr 0.1;
                                           cross-entropy
    manifest.json, cases.json              make_today.py's schema

ONNX Runtime's output of each export is checked against PyTorch's (1e-4 relative) by make_today's main.
"""

import os
import sys

import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_models as mm  # noqa: E402
import make_today as mt  # noqa: E402

OPSET = {"norms21": 21}  # models exported at an opset other than the exporter's default


class NormCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.gn = nn.GroupNorm(2, 8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.inorm = nn.InstanceNorm2d(8, affine=True)
        self.plain = nn.InstanceNorm2d(8)
        self.head = nn.Linear(8, 4)

    def forward(self, x):
        h = self.gn(self.conv1(x)).relu()
        h = self.plain(self.inorm(self.conv2(h)).relu())
        return self.head(h.mean((2, 3)))


def models():
    out = []
    for i, name in enumerate(["norms", "norms21"]):
        mm.seed(17)
        m = NormCNN()
        for p in m.parameters():  # distinct values, as a pretrained model has (GroupNorm's weight is not all 1)
            p.data.add_(0.1 * mm.torch.randn_like(p))
        notes = ("make_norms.py's NormCNN (3x8x8, 4 classes): nn.GroupNorm(2, 8), nn.InstanceNorm2d(8, affine=True),"
                 " nn.InstanceNorm2d(8)")
        if name in OPSET:
            notes += "; exported with opset_version=%d" % OPSET[name]
        out.append((name, name, notes, m, mm.fixed_input((mt.EXPORT_BATCH, 3, 8, 8), 1701),
                    mm.fixed_input((mt.TRAIN_BATCH, 3, 8, 8), 1702), mt.labels(mt.TRAIN_BATCH, 4, 1703),
                    [{"pattern": "head.*", "lr": mt.HEAD_LR}]))
    return out


def export(model, x, path, kind, _export=mt.export):
    name = os.path.basename(path).rsplit("_", 2 if kind.count("_") else 1)[0]
    if name in OPSET:
        saved = mt.EXPORTERS[kind]
        mt.EXPORTERS[kind] = dict(saved, opset_version=OPSET[name])
        try:
            return _export(model, x, path, kind)
        finally:
            mt.EXPORTERS[kind] = saved
    return _export(model, x, path, kind)


if __name__ == "__main__":
    mt.OUT = os.path.join(HERE, "norms")
    mt.models = models
    mt.export = export
    mt.probes = lambda: {}  # models/today's exporter probes: not this folder's subject
    sys.exit(mt.main())
