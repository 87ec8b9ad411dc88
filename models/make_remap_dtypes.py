#!/usr/bin/env python3
"""Fixtures of remapping across float element types: what load_state_dict does when the pretrained
tensors have another float type than the model's (it copies them with Tensor.copy_, which casts).

Run with the repository's reference virtual environment (torch 2.14.1, onnx):

    .venv/bin/python models/make_remap_dtypes.py     # writes models/remap_dtypes/, a few seconds

An MLP (Linear 8->16, ReLU, Linear 16->4) "pre" with seeded weights, and another of the same
architecture "new" with other seeded weights, exported with the TorchScript exporter (opset 17):

    pre32.onnx, pre16.onnx, prebf16.onnx   pre in float32, after .half(), after .to(torch.bfloat16)
    new32.onnx, new16.onnx                 new in float32 and after .half()
    expected.npz                           "<pre>-><new>/<name>": the state_dict of new after
                                           new.load_state_dict(pre.state_dict()), for pre16->new32,
                                           prebf16->new32 and pre32->new16, in new's type (bfloat16,
                                           which numpy lacks, never is new's)
"""
import os
import warnings

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "remap_dtypes")
warnings.filterwarnings("ignore")


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(x)))


def export(model, dtype, path):
    x = torch.zeros(2, 8, dtype=dtype)
    torch.onnx.export(model, (x,), path, dynamo=False, opset_version=17, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(21)
    pre = MLP().eval()
    torch.manual_seed(22)
    new = MLP().eval()
    pres = {"pre32": pre, "pre16": MLP().eval(), "prebf16": MLP().eval()}
    pres["pre16"].load_state_dict(pre.state_dict())
    pres["pre16"].half()
    pres["prebf16"].load_state_dict(pre.state_dict())
    pres["prebf16"].to(torch.bfloat16)
    news = {"new32": new, "new16": MLP().eval()}
    news["new16"].load_state_dict(new.state_dict())
    news["new16"].half()
    for name, m in pres.items():
        export(m, next(m.parameters()).dtype, os.path.join(OUT, name + ".onnx"))
    for name, m in news.items():
        export(m, next(m.parameters()).dtype, os.path.join(OUT, name + ".onnx"))
    arrays = {}
    for p, n in [("pre16", "new32"), ("prebf16", "new32"), ("pre32", "new16")]:
        target = MLP().eval()
        target.load_state_dict(news[n].state_dict())
        target.to(next(news[n].parameters()).dtype)
        target.load_state_dict(pres[p].state_dict())  # copy_ casts to the target's type
        for k, v in target.state_dict().items():
            arrays[f"{p}->{n}/{k}"] = v.numpy()
    np.savez(os.path.join(OUT, "expected.npz"), **arrays)


if __name__ == "__main__":
    main()
