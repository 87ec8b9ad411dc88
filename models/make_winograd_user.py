#!/usr/bin/env python3
"""Fixtures for the user-level tests of Winograd F(2x2, 3x3) (graph/ops/conv_winograd.go).

Run with the repository's reference virtual environment:

    .venv/bin/python models/make_winograd_user.py     # a few seconds

It writes graph/ops/testdata/winograd/:

    odd_asym.onnx      3x3 convolutions over odd planes (input 15x17): Conv(pad 1)+ReLU,
                       ZeroPad2d((0, 1, 2, 0)) then Conv(pad 0, no bias)+ReLU, Conv(pad 2)+ReLU6 (Clip),
                       Conv(pad 1), mean over the plane, Linear(8, 5); dynamic batch
    conv3d_d1.onnx     Conv3d(4, 5, (1, 3, 3), padding=(1, 1, 1)) of a (N, 4, 1, 9, 9) input: the
                       depth padding makes 3 output planes (2 of them the bias alone)
    conv3d_d1_s3.onnx  the same with stride (3, 1, 1): one output plane, the bias alone
    <model>.npz        x: the input batch, ort: ONNX Runtime's output for it

and cmd/onnxtune/testdata/winograd/:

    odd_asym.onnx      the model above, exported from the same starting weights
    conv3d_d1.onnx     Conv3d(4, 6, (1, 3, 3), padding=(1, 1, 1)) of a (N, 4, 1, 9, 9) input, ReLU,
                       Flatten, Linear(6*3*9*9, 5)
    <model>_sgd.npz    x: two batches of 16, y [32]; PyTorch's training of the module with SGD (lr 0.1,
                       momentum 0.9, no weight decay), one step per batch in order: loss [2],
                       step<k>/<name> the state_dict after step k

Seeded and single-config (torch.set_num_threads(2), deterministic algorithms).
"""

import copy
import os
import warnings

import numpy as np
import onnxruntime as ort
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
OPS = os.path.join(HERE, "..", "graph", "ops", "testdata", "winograd")
CMD = os.path.join(HERE, "..", "cmd", "onnxtune", "testdata", "winograd")
torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)
warnings.filterwarnings("ignore")


class OddAsym(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.pad = nn.ZeroPad2d((0, 1, 2, 0))
        self.c2 = nn.Conv2d(8, 12, 3, padding=0, bias=False)
        self.c3 = nn.Conv2d(12, 8, 3, padding=2)
        self.c4 = nn.Conv2d(8, 8, 3, padding=1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = torch.relu(self.c1(x))
        x = torch.relu(self.c2(self.pad(x)))
        x = torch.clamp(self.c3(x), 0, 6)
        x = self.c4(x)
        return self.fc(x.mean((2, 3)))


class Conv3dD1(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv3d(4, 6, (1, 3, 3), padding=(1, 1, 1))
        self.fc = nn.Linear(6 * 3 * 9 * 9, 5)

    def forward(self, x):
        return self.fc(torch.relu(self.c(x)).flatten(1))


def sgd_fixture(name, net, shape):
    """Exports net to CMD and writes PyTorch's two SGD steps of it at batch 16."""
    bs, steps = 16, 2
    xt = torch.randn(bs * steps, *shape)
    yt = torch.randint(0, 5, (bs * steps,))
    export(net, xt[:2], os.path.join(CMD, name + ".onnx"))
    ref = copy.deepcopy(net).train()
    opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    arrays = {"x": xt.numpy(), "y": yt.numpy()}
    losses = []
    for k in range(steps):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(ref(xt[k * bs:(k + 1) * bs]), yt[k * bs:(k + 1) * bs])
        loss.backward()
        opt.step()
        losses.append(loss.item())
        for n, v in ref.state_dict().items():
            arrays[f"step{k + 1}/{n}"] = v.detach().numpy().copy()
    arrays["loss"] = np.array(losses, dtype=np.float32)
    np.savez(os.path.join(CMD, name + "_sgd.npz"), **arrays)


def export(model, x, path):
    torch.onnx.export(copy.deepcopy(model).eval(), x, path, input_names=["input"], output_names=["logits"],
                      opset_version=17, dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False)


def ort_run(path, x):
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return s.run(None, {"input": x})[0]


def main():
    os.makedirs(OPS, exist_ok=True)
    os.makedirs(CMD, exist_ok=True)
    torch.manual_seed(0)
    net = OddAsym()
    # Inference: 5 samples (chunks of several samples, odd planes).
    x = torch.randn(5, 3, 15, 17)
    cases = [("odd_asym", net, x)]
    for name, stride in [("conv3d_d1", 1), ("conv3d_d1_s3", 3)]:
        c = nn.Conv3d(4, 5, (1, 3, 3), padding=(1, 1, 1), stride=(stride, 1, 1))
        cases.append((name, nn.Sequential(c), torch.randn(2, 4, 1, 9, 9)))
    for name, model, xi in cases:
        path = os.path.join(OPS, name + ".onnx")
        export(model, xi, path)
        np.savez(os.path.join(OPS, name + ".npz"), x=xi.numpy(), ort=ort_run(path, xi.numpy()))
    # Training: two SGD steps at batch 16.
    sgd_fixture("odd_asym", net, (3, 15, 17))
    sgd_fixture("conv3d_d1", Conv3dD1(), (4, 1, 9, 9))


if __name__ == "__main__":
    main()
