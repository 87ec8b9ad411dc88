"""PyTorch's reference for training ../shared/realworld/fpgai_mlp_dynamo24_funcs.onnx, an MLP that
torch.onnx.dynamo_export (PyTorch 2.4) wrote as two module functions whose Linear weights are folded
into Constant nodes of their bodies (the initializers fc0.weight and fc1.weight are passed in but
unread). The file is read in place (never copied); the module is rebuilt from its initializers
(y = fc1(fc0(x)), no activation, as the graph computes) and trained for two steps of
torch.optim.SGD (lr 0.1, momentum 0.9) on mean(y**2) for a fixed x. Writes
models/functions/fpgai_sgd.json: x, and the state_dict after the steps.

    .venv/bin/python models/make_functions_reference.py
"""
import json
import os

import numpy as np
import onnx
import torch
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "..", "shared", "realworld", "fpgai_mlp_dynamo24_funcs.onnx")
OUT = os.path.join(HERE, "functions", "fpgai_sgd.json")


def main():
    m = onnx.load(SRC)
    w = {t.name: numpy_helper.to_array(t).copy() for t in m.graph.initializer}
    net = torch.nn.Sequential()
    net.add_module("fc0", torch.nn.Linear(8, 8))
    net.add_module("fc1", torch.nn.Linear(8, 4))
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(torch.from_numpy(w[name]))
    torch.manual_seed(0)
    x = torch.randn(3, 1, 1, 8)  # the graph input is [batch, 1, 1, 8]
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    for _ in range(2):
        opt.zero_grad()
        loss = (net(x) ** 2).mean()
        loss.backward()
        opt.step()
    out = {"torch": torch.__version__, "lr": 0.1, "momentum": 0.9, "steps": 2, "loss": "mean(output**2)",
           "x": {"shape": list(x.shape), "values": x.flatten().tolist()},
           "state_dict": {k: {"shape": list(v.shape), "values": v.flatten().tolist()} for k, v in net.state_dict().items()}}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
