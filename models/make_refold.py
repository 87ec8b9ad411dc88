"""nn.RNN exported by the dynamo exporter (torch 2.14), which unrolls it and folds the first step's
zeros @ W_hh + b_hh into a constant: b_hh repeated over the batch. PyTorch trains b_hh with that
step's gradient too; remap.RefoldConstants computes the constant from b_hh again. Writes
models/refold/rnn_dynamo.onnx (batch 4) and models/refold/rnn.npz:
    x, y            the batch and its labels
    step<k>/<name>  the state_dict after k SGD steps (lr 0.1, momentum 0.9, cross-entropy)

    .venv/bin/python models/make_refold.py
"""
import os
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "refold")
torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)
warnings.filterwarnings("ignore")


class RNNClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(5, 6, batch_first=True)
        self.head = nn.Linear(6, 3)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    m = RNNClassifier().eval()
    g = torch.Generator().manual_seed(3)
    x = torch.randn(4, 7, 5, generator=g)
    y = torch.randint(0, 3, (4,), generator=g)
    torch.onnx.export(m, (x,), os.path.join(OUT, "rnn_dynamo.onnx"), dynamo=True, external_data=False, input_names=["x"])
    arrays = {"x": x.numpy(), "y": y.numpy()}
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    for k in range(1, 4):
        opt.zero_grad()
        F.cross_entropy(m(x), y).backward()
        opt.step()
        for name, v in m.state_dict().items():
            arrays[f"step{k}/{name}"] = v.detach().numpy().copy()
    np.savez(os.path.join(OUT, "rnn.npz"), **arrays)


if __name__ == "__main__":
    main()
