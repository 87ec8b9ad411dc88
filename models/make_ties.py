"""Parameters PyTorch ties between modules, exported by the dynamo exporter (torch 2.14): an
Embedding whose weight is also the head's (head.weight = emb.weight) and one Linear used twice in
an nn.Sequential. PyTorch trains each tied tensor once (model.parameters() yields it once); the
export reads it under one name, and the program's FX records name the placeholder each node reads.
Writes models/ties/tied_dynamo.onnx and models/ties/tied.npz:
    ids, y            a batch of token ids and labels
    numel             sum(p.numel() for p in model.parameters())
    step<k>/<name>    the state_dict after k SGD steps (lr 0.05, momentum 0.9, weight decay 1e-4,
                      cross-entropy), every name of a tied tensor included

    .venv/bin/python models/make_ties.py
"""
import os
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "ties")
torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)
warnings.filterwarnings("ignore")


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(6, 8)
        self.shared = nn.Linear(8, 8)
        self.blocks = nn.Sequential(self.shared, nn.ReLU(), self.shared)
        self.head = nn.Linear(8, 6, bias=False)
        self.head.weight = self.emb.weight

    def forward(self, ids):
        return self.head(self.blocks(self.emb(ids)).mean(1))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    m = Tied().eval()
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(0, 6, (4, 5), generator=g)
    y = torch.randint(0, 6, (4,), generator=g)
    torch.onnx.export(m, (ids[:2],), os.path.join(OUT, "tied_dynamo.onnx"), dynamo=True, external_data=False,
                      input_names=["ids"])
    arrays = {"ids": ids.numpy(), "y": y.numpy(), "numel": np.array(sum(p.numel() for p in m.parameters()))}
    opt = torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    for k in range(1, 4):
        opt.zero_grad()
        F.cross_entropy(m(ids), y).backward()
        opt.step()
        for name, v in m.state_dict().items():
            arrays[f"step{k}/{name}"] = v.detach().numpy().copy()
    np.savez(os.path.join(OUT, "tied.npz"), **arrays)


if __name__ == "__main__":
    main()
