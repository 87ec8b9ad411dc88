#!/usr/bin/env python3
"""A small UNet with upsampling and a classification head, exported by current PyTorch, with PyTorch's outputs
and three SGD steps: the fixtures of Resize (issue 13).

Run with the repository's reference virtual environment (scripts/reference-tools.sh installs torch 2.14.1,
onnx, onnxscript, onnxruntime into .venv):

    .venv/bin/python models/make_resize.py        # writes models/resize/, a few seconds on 2 cores

The network (input 3x16x16, 4 classes): an encoder of two Conv+ReLU+MaxPool stages, then a decoder with
nn.Upsample(scale_factor=2, mode="nearest"), nn.Upsample(scale_factor=2, mode="bilinear",
align_corners=False) and nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True) with skip
connections; F.interpolate by size (nearest 4x4 -> 6x6, bilinear align_corners=True 16x16 -> 11x11,
bicubic 8x8 -> 12x12) and by scale_factor (bilinear 0.5, downsampling); a head of global average pools
and a Linear (4 classes). Every parameter is seeded.

It reuses make_today.py: its export, storage, loading and training helpers and its main, with this one model,
writing models/resize/ in models/today's layout (train/resize_parity_test.go reads it with the harness of
train/today_parity_test.go):

    unet_dynamo.onnx, unet_ts.onnx   torch.onnx.export(..., dynamo=True) and (..., dynamo=False), fixed shapes,
                                     eval mode, default opset, input "input", output "logits"
    unet.expected.npz                x at the export batch (2) and PyTorch's eval logits
    unet_sgd.npz                     3 steps of torch.optim.SGD (momentum 0.9, weight decay 1e-4) at batch 5, two
                                     groups: the backbone at lr 0.01, "head.*" at lr 0.1; cross-entropy
    manifest.json, cases.json        make_today.py's schema

ONNX Runtime's output of each export is checked against PyTorch's (1e-4 relative) by make_today's main.
"""

import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_models as mm  # noqa: E402
import make_today as mt  # noqa: E402


class UNet(nn.Module):
    """Conv encoder, upsampling decoder with skips, every interpolation PyTorch users write."""

    def __init__(self):
        super().__init__()
        self.enc1 = nn.Conv2d(3, 6, 3, padding=1)
        self.enc2 = nn.Conv2d(6, 8, 3, padding=1)
        self.mid = nn.Conv2d(8, 8, 3, padding=1)
        self.up_nearest = nn.Upsample(scale_factor=2, mode="nearest")
        self.dec1 = nn.Conv2d(16, 8, 3, padding=1)
        self.up_bilinear = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.up_corners = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
        self.dec2 = nn.Conv2d(14, 6, 3, padding=1)
        self.head = nn.Linear(6 + 6 + 8 + 8 + 8 + 6, 4)

    def forward(self, x):
        e1 = torch.relu(self.enc1(x))                            # 6x16x16
        e2 = torch.relu(self.enc2(F.max_pool2d(e1, 2)))          # 8x8x8
        b = torch.relu(self.mid(F.max_pool2d(e2, 2)))            # 8x4x4
        d1 = torch.relu(self.dec1(torch.cat([self.up_nearest(b), e2], 1)))         # 8x8x8
        d2 = torch.relu(self.dec2(torch.cat([self.up_bilinear(d1), e1], 1)))       # 6x16x16
        corners = self.up_corners(d1)                                              # 8x16x16
        sized = F.interpolate(d2, size=(11, 11), mode="bilinear", align_corners=True)  # 6x11x11
        near = F.interpolate(b, size=(6, 6), mode="nearest")                       # 8x6x6
        cubic = F.interpolate(e2, size=(12, 12), mode="bicubic", align_corners=False)  # 8x12x12
        down = F.interpolate(d2, scale_factor=0.5, mode="bilinear")                 # 6x8x8
        pooled = [t.mean((2, 3)) for t in (d2, sized, near, cubic, corners, down)]
        return self.head(torch.cat(pooled, 1))


def models():
    mm.seed(13)
    m = UNet()
    for p in m.parameters():  # distinct values, as a pretrained model has
        p.data.add_(0.05 * torch.randn_like(p))
    return [("unet", "unet", "make_resize.py's UNet (3x16x16, 4 classes): nn.Upsample nearest, bilinear and "
             "bilinear align_corners; F.interpolate by size (nearest, bilinear align_corners, bicubic) and by "
             "scale_factor 0.5", m,
             mm.fixed_input((mt.EXPORT_BATCH, 3, 16, 16), 1301),
             mm.fixed_input((mt.TRAIN_BATCH, 3, 16, 16), 1302), mt.labels(mt.TRAIN_BATCH, 4, 1303),
             [{"pattern": "head.*", "lr": mt.HEAD_LR}])]


if __name__ == "__main__":
    mt.OUT = os.path.join(HERE, "resize")
    mt.models = models
    mt.probes = lambda: {}  # models/today's exporter probes: not this folder's subject
    sys.exit(mt.main())
