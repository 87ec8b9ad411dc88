#!/usr/bin/env python3
"""Half-precision fixtures: float16 and bfloat16 models and PyTorch's training of them.

Run with the repository's reference virtual environment (scripts/reference-tools.sh installs torch
2.14.1, onnx, onnxruntime and onnxconverter-common into .venv):

    .venv/bin/python models/make_half.py        # writes models/half/, a few seconds

It writes models/half/:

    mlp16_dynamo.onnx, mlp16_ts.onnx   an MLP (Linear, ReLU, Linear) exported after .half() with both
                                       exporters: float16 weights, float16 input and output
    cnn16_dynamo.onnx, cnn16_ts.onnx   a small CNN (Conv, ReLU, MaxPool, Flatten, Linear) after .half()
    mlp16w_ts.onnx                     the MLP's float32 TorchScript export converted by
                                       onnxconverter-common's convert_float_to_float16(keep_io_types=True):
                                       float16 weights, float32 input and output, Cast nodes between
    mlpbf16_dynamo.onnx                the MLP after .to(torch.bfloat16), dynamo exporter
    mlpbf16_ts.onnx                    the same, TorchScript exporter
    <model>.npz                        x: the input batch (float32 holding the file's input values), y:
                                       labels, out: PyTorch's eval output (float32 holding its half
                                       values), ort: ONNX Runtime's output for each file of the model
                                       (ort/<file>; absent where ONNX Runtime cannot run it: its CPU
                                       provider has no bfloat16 Gemm, manifest "ort_error"), then
                                       PyTorch's training, 3 SGD steps (lr 0.1, momentum 0.9):
                                       half/loss, half/step<k>/<name>: parameters trained in the half
                                       type directly (as PyTorch does for .half() modules);
                                       f32/loss, f32/step<k>/<name>: the same module, same starting
                                       values, trained in float32. Every array is float32 (half values
                                       widen exactly).
    manifest.json                      versions; per model its files, input and output element types,
                                       and the largest difference between the half and float32 runs
                                       after each step (the tolerance the Go tests state)

Seeded and single-config (torch.set_num_threads(2), deterministic algorithms).
"""

import json
import os
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "half")
torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)

BATCH = 4
STEPS = 3
LR, MOMENTUM = 0.1, 0.9


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 4 * 4, 3)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv(x)), 2)
        return self.fc(torch.flatten(x, 1))


def export(model, x, path, dynamo):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), path, dynamo=dynamo, input_names=["input"], output_names=["logits"], verbose=False,
                          **({"external_data": False} if dynamo else {}))


def ort_run(path, x):
    """ONNX Runtime's output for x, or None and the reason it cannot run the file."""
    try:
        s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001  (bfloat16: its CPU provider has no bfloat16 Gemm)
        return None, str(e).splitlines()[0][:160]
    if x is None:
        return None, "numpy has no bfloat16 input to give it"
    return s.run(None, {s.get_inputs()[0].name: x})[0], None


def sgd_run(model, x, y):
    """Three SGD steps on model's own parameters (in their own dtype)."""
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    losses, states = [], []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.float().item())
        states.append({k: v.detach().float().numpy().copy() for k, v in model.state_dict().items()})
    return losses, states


def make(name, cls, shape, dtype, files):
    """files: list of (file name, kind) with kind dynamo, ts or f16w."""
    torch.manual_seed(len(name))
    base = cls().eval()
    half = cls().eval()
    half.load_state_dict(base.state_dict())
    half = half.to(dtype)
    x = torch.randn(*shape).to(dtype)
    y = torch.randint(0, 3, (BATCH,))
    arrays = {"x": x.float().numpy(), "y": y.numpy()}
    with torch.no_grad():
        arrays["out"] = half(x).float().numpy()
    entry = {"name": name, "dtype": str(dtype).replace("torch.", ""), "files": []}
    for f, kind in files:
        path = os.path.join(OUT, f)
        if kind == "f16w":
            from onnxconverter_common import float16
            f32 = path + ".f32.onnx"
            export(base, x.float(), f32, False)
            m = float16.convert_float_to_float16(onnx.load(f32), keep_io_types=True)
            os.remove(f32)
            onnx.save(m, path)
            feed = x.float().numpy()
        else:
            export(half, x, path, kind == "dynamo")
            feed = x.numpy() if dtype == torch.float16 else None
        m = onnx.load(path)
        io = [onnx.TensorProto.DataType.Name(v.type.tensor_type.elem_type) for v in (m.graph.input[0], m.graph.output[0])]
        r, why = ort_run(path, feed)
        if r is not None:
            arrays["ort/" + f] = r.astype(np.float32)
        entry["files"].append({"file": f, "kind": kind, "input": io[0], "output": io[1], "ort": r is not None,
                               "ort_error": why})
    # Training: the half module directly in its type, and a float32 copy of the same values.
    t16 = half
    t32 = cls()
    t32.load_state_dict({k: v.float() for k, v in half.state_dict().items()})
    l16, s16 = sgd_run(t16.train(), x, y)
    l32, s32 = sgd_run(t32.train(), x.float(), y)
    arrays["half/loss"] = np.array(l16, dtype=np.float32)
    arrays["f32/loss"] = np.array(l32, dtype=np.float32)
    gaps = []
    for k in range(STEPS):
        gap = 0.0
        for p in s16[k]:
            arrays["half/step%d/%s" % (k + 1, p)] = s16[k][p]
            arrays["f32/step%d/%s" % (k + 1, p)] = s32[k][p]
            gap = max(gap, float(np.abs(s16[k][p] - s32[k][p]).max()))
        gaps.append(gap)
    entry["half_vs_f32"] = gaps
    entry["loss_half"], entry["loss_f32"] = l16, l32
    np.savez(os.path.join(OUT, name + ".npz"), **arrays)
    print("  %-8s %s: half vs float32 after each step %s; losses %s / %s" % (
        name, entry["dtype"], " ".join("%.3g" % g for g in gaps),
        " ".join("%.5f" % v for v in l16), " ".join("%.5f" % v for v in l32)))
    return entry


def main():
    os.makedirs(OUT, exist_ok=True)
    import onnxconverter_common
    models = [
        make("mlp16", MLP, (BATCH, 8), torch.float16, [("mlp16_dynamo.onnx", "dynamo"), ("mlp16_ts.onnx", "ts")]),
        make("cnn16", CNN, (BATCH, 1, 8, 8), torch.float16, [("cnn16_dynamo.onnx", "dynamo"), ("cnn16_ts.onnx", "ts")]),
        make("mlp16w", MLP, (BATCH, 8), torch.float16, [("mlp16w_ts.onnx", "f16w")]),
        make("mlpbf16", MLP, (BATCH, 8), torch.bfloat16, [("mlpbf16_dynamo.onnx", "dynamo"), ("mlpbf16_ts.onnx", "ts")]),
    ]
    manifest = {"versions": {"torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": ort.__version__,
                             "onnxconverter_common": onnxconverter_common.__version__},
                "batch": BATCH, "steps": STEPS, "lr": LR, "momentum": MOMENTUM, "models": models}
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
