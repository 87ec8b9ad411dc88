#!/usr/bin/env python3
"""Fixtures for inputs whose batch is not on axis 0: an LSTM fed its initial states h0 and c0.

Run with the repository's reference virtual environment (scripts/reference-tools.sh installs
torch 2.14.1, onnx, onnxscript and onnxruntime into .venv):

    .venv/bin/python models/make_states.py        # writes models/states/, a few seconds

PyTorch's nn.LSTM takes its initial states as [num_layers * directions, batch, hidden], batch_first
or not: a model that takes them as inputs has inputs whose batch is on axis 1. The model here, LSTMStates,
is an nn.LSTM(5, 8, num_layers=2, batch_first=True) read from x [batch, 4, 5], h0 [2, batch, 8] and
c0 [2, batch, 8], a Linear(8, 3) on the last step's output (logits [batch, 3]), and the final hidden
state hn [2, batch, 8] as a second output. It writes models/states/:

    lstm_ts.onnx          torch.onnx.export(..., dynamo=False), dynamic_axes naming the batch "batch"
                          (x axis 0, h0 and c0 axis 1, logits axis 0, hn axis 1)
    lstm_dynamo.onnx      torch.onnx.export(..., dynamo=True), dynamic_shapes with Dim("batch") on the
                          same axes
    lstm_fixed_ts.onnx    dynamo=False without dynamic axes: every shape fixed at the batch of 3
                          (h0 [2, 3, 8]: the batch's size on axis 1 only)
    lstm.data.npz         x [7, 4, 5], h0 [2, 7, 8], c0 [2, 7, 8] (float32), y [7] class labels: the
                          file the CLI's --data reads
    lstm.expected.npz     logits [7, 3], hn [2, 7, 8]: PyTorch's eval outputs for lstm.data.npz;
                          loss, accuracy: nn.CrossEntropyLoss (mean) and accuracy against y (float64)
    lstm_epoch.npz        SGD (lr 0.05, momentum 0.9) on lstm.data.npz in file order, batches of 3 (the
                          last of one example), one epoch, as `onnxtune train --shuffle=false
                          --batch-size 3 --lr 0.05 --momentum 0.9` does it: loss [steps] and
                          step<k>/<state_dict name> after every step
    manifest.json         versions, the files and their inputs' declared shapes

Seeded and single-config (torch.set_num_threads(2), deterministic algorithms, fixed zip timestamps).
"""

import io
import json
import os
import warnings
import zipfile

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "states")
torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)

N, SEQ, IN, HID, LAYERS, CLASSES = 7, 4, 5, 8, 2, 3
FIXED_BATCH = 3
BATCH = 3
LR, MOMENTUM = 0.05, 0.9
NAMES = ["x", "h0", "c0"]


class LSTMStates(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(IN, HID, num_layers=LAYERS, batch_first=True)
        self.fc = nn.Linear(HID, CLASSES)

    def forward(self, x, h0, c0):
        out, (hn, _) = self.lstm(x, (h0, c0))
        return self.fc(out[:, -1]), hn


def save_npz(path, arrays):
    """np.savez with fixed zip timestamps, keys in the given order."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for key, arr in arrays.items():
            data = io.BytesIO()
            np.lib.format.write_array(data, np.asarray(arr, order="C"), allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data.getvalue())
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def data():
    g = torch.Generator().manual_seed(3101)
    x = torch.randn((N, SEQ, IN), generator=g)
    h0 = 0.5 * torch.randn((LAYERS, N, HID), generator=g)
    c0 = 0.5 * torch.randn((LAYERS, N, HID), generator=g)
    y = torch.randint(0, CLASSES, (N,), generator=g)
    return {"x": x, "h0": h0, "c0": c0}, y


def take(inputs, idx):
    """Examples idx: x along axis 0, the states along axis 1."""
    return {"x": inputs["x"][idx], "h0": inputs["h0"][:, idx], "c0": inputs["c0"][:, idx]}


def export(model, inputs, path, kind):
    args = tuple(inputs[k] for k in NAMES)
    kw = dict(input_names=NAMES, output_names=["logits", "hn"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "ts":
            axes = {"x": {0: "batch"}, "h0": {1: "batch"}, "c0": {1: "batch"}, "logits": {0: "batch"}, "hn": {1: "batch"}}
            torch.onnx.export(model, args, path, dynamo=False, dynamic_axes=axes, **kw)
        elif kind == "fixed_ts":
            torch.onnx.export(model, args, path, dynamo=False, **kw)
        else:
            b = torch.export.Dim("batch", min=1, max=1024)
            shapes = {"x": {0: b}, "h0": {1: b}, "c0": {1: b}}
            torch.onnx.export(model, args, path, dynamo=True, external_data=False, dynamic_shapes=shapes, **kw)
    assert not os.path.exists(path + ".data"), path
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return m


def shapes(m):
    inits = {t.name for t in m.graph.initializer}
    return {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in m.graph.input if v.name not in inits}


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(3100)
    model = LSTMStates().eval()
    inputs, y = data()
    start = {k: v.clone() for k, v in model.state_dict().items()}

    with torch.no_grad():
        logits, hn = model(*inputs.values())
    loss = nn.functional.cross_entropy(logits, y)
    acc = (logits.argmax(1) == y).double().mean()
    save_npz(os.path.join(OUT, "lstm.data.npz"), {**{k: v.numpy() for k, v in inputs.items()}, "y": y.numpy()})
    save_npz(os.path.join(OUT, "lstm.expected.npz"), {"logits": logits.numpy(), "hn": hn.numpy(),
                                                    "loss": np.array([loss.item()]), "accuracy": np.array([acc.item()])})

    files = []
    np_in = {k: v.numpy() for k, v in inputs.items()}
    for kind in ("ts", "dynamo", "fixed_ts"):
        path = os.path.join(OUT, "lstm_%s.onnx" % kind)
        ex = take(inputs, list(range(FIXED_BATCH))) if kind == "fixed_ts" else inputs
        m = export(model, ex, path, kind)
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        feed = {k: v.numpy() for k, v in ex.items()}
        got = sess.run(None, feed)
        with torch.no_grad():
            want = model(*ex.values())
        diff = max(float(np.abs(got[0] - want[0].numpy()).max()), float(np.abs(got[1] - want[1].numpy()).max()))
        assert diff < 1e-5, (kind, diff)
        files.append({"file": os.path.basename(path), "kind": kind, "inputs": shapes(m), "ort_vs_torch": diff})
    del np_in

    # One epoch of SGD in file order, batches of BATCH, in train mode (no dropout: the same).
    model.load_state_dict(start)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    ref = {}
    losses = []
    for k, lo in enumerate(range(0, N, BATCH), start=1):
        idx = list(range(lo, min(lo + BATCH, N)))
        b = take(inputs, idx)
        opt.zero_grad()
        out, _ = model(*b.values())
        l = nn.functional.cross_entropy(out, y[idx])
        l.backward()
        opt.step()
        losses.append(l.item())
        for name, p in model.named_parameters():
            ref["step%d/%s" % (k, name)] = p.detach().numpy().copy()
    save_npz(os.path.join(OUT, "lstm_epoch.npz"), {"loss": np.array(losses, dtype=np.float32), **ref})

    manifest = {
        "versions": {"torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": ort.__version__},
        "n": N, "batch": BATCH, "lr": LR, "momentum": MOMENTUM, "files": files,
    }
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
