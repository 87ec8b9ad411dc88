#!/usr/bin/env python3
"""Quantized (QDQ) fixtures and PyTorch's quantization-aware training reference for them.

Run with the repository's reference virtual environment (torch 2.14.1, onnx, onnxruntime 1.32):

    bash scripts/reference-tools.sh
    .venv/bin/python models/make_quant.py        # writes models/quant/, a few seconds

It writes models/quant/:

    node/<case>/           ONNX's own node test cases for QuantizeLinear and DequantizeLinear, made by the
                           case generators of the installed onnx package (onnx.backend.test.case.node;
                           the 701 cases of ../shared/onnx-node-tests hold none of these ops): model.onnx
                           and test_data_set_0/{input,output}_<i>.pb, as onnx's cmd_tools writes them
    cnn_float.onnx         a small float CNN exported by PyTorch (TorchScript exporter, opset 13)
    qdq_cnn_pc.onnx        cnn_float quantized by onnxruntime.quantization.quantize_static, QDQ format:
                           per-channel int8 weights (DequantizeLinear axis 0), uint8 activations,
                           int32 biases
    qdq_cnn_pt.onnx        the same, per-tensor int8 weights and int8 activations
    <model>_sgd.npz        PyTorch's reference: x [5,1,8,8], y [5], loss [3], step<k>/<state_dict name>
                           after SGD step k = 1, 2, 3 (lr 0.01, momentum 0.9, weight decay 1e-4, one group)
    manifest.json          versions, and per QDQ model its parameters (name, shape) and training groups

The reference trains, with torch ops, the computation the QDQ file describes, as PyTorch's
quantization-aware training does with frozen observers: every QuantizeLinear -> DequantizeLinear pair
is torch.fake_quantize_per_tensor_affine or torch.fake_quantize_per_channel_affine with the file's
scale and zero point (quant_min/quant_max of the integer type; straight-through gradient with the clamp
mask); an int8 weight feeding DequantizeLinear is a float parameter starting at its dequantized value
(x - zero_point) * scale, fake-quantized where it is read; an int32 bias is a float parameter starting
at its dequantized value, not fake-quantized (PyTorch's QAT modules do not fake-quantize biases).
Scales and zero points stay fixed. Parameter names are the float module's state_dict names (the
quantizer named each tensor <name>_quantized).

Seeded, single-threaded; re-running rewrites identical files.
"""

import json
import os
import shutil
import sys

import numpy as np
import onnx
import onnxruntime
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "quant")
torch.manual_seed(0)
torch.set_num_threads(1)
np.random.seed(0)


def node_cases():
    """ONNX's node test cases for the two ops, from onnx's own generators."""
    import onnx.backend.test.case.node as node

    out = os.path.join(OUT, "node")
    shutil.rmtree(out, ignore_errors=True)
    names = []
    for case in node.collect_testcases(""):
        if not (case.name.startswith("test_quantizelinear") or case.name.startswith("test_dequantizelinear")):
            continue
        d = os.path.join(out, case.name)
        os.makedirs(os.path.join(d, "test_data_set_0"))
        with open(os.path.join(d, "model.onnx"), "wb") as f:
            f.write(case.model.SerializeToString())
        inputs, outputs = case.data_sets[0]
        for kind, values, infos in (("input", inputs, case.model.graph.input), ("output", outputs, case.model.graph.output)):
            for j, v in enumerate(values):
                t = v if isinstance(v, onnx.TensorProto) else numpy_helper.from_array(v, infos[j].name)
                with open(os.path.join(d, "test_data_set_0", f"{kind}_{j}.pb"), "wb") as f:
                    f.write(t.SerializeToString())
        names.append(case.name)
    return sorted(names)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3)
        self.conv2 = nn.Conv2d(4, 6, 3, padding=1)
        self.fc = nn.Linear(6 * 3 * 3, 3)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = F.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.fc(x.flatten(1))


class Calibration(CalibrationDataReader):
    def __init__(self):
        g = torch.Generator().manual_seed(1)
        self.batches = iter([{"input": torch.randn(5, 1, 8, 8, generator=g).numpy()} for _ in range(4)])

    def get_next(self):
        return next(self.batches, None)


RANGES = {np.int8: (-128, 127), np.uint8: (0, 255), np.int16: (-32768, 32767), np.uint16: (0, 65535)}


class QDQModule(nn.Module):
    """The computation of a QDQ file in torch ops, QDQ pairs as fake quantization (see the docstring)."""

    def __init__(self, path, names):
        super().__init__()
        m = onnx.load(path)
        self.graph = m.graph
        self.inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
        self.producer = {o: n for n in m.graph.node for o in n.output}
        self.masters = {}  # DequantizeLinear output -> (parameter name, fake quantization or None)
        self.params = nn.ParameterDict()
        for n in m.graph.node:
            if n.op_type != "DequantizeLinear" or n.input[0] not in self.inits:
                continue
            q = self.inits[n.input[0]]
            scale, zero, axis = self.quant(n)
            name = names[n.input[0]]
            master = self.dequantize(q, scale, zero, axis)
            self.params[name.replace(".", "__")] = nn.Parameter(torch.from_numpy(master))
            fq = None if q.dtype == np.int32 else (scale, zero, axis, RANGES[q.dtype.type])
            self.masters[n.output[0]] = (name, fq)

    def quant(self, n):
        scale = self.inits[n.input[1]]
        zero = self.inits[n.input[2]] if len(n.input) > 2 and n.input[2] else np.zeros_like(scale, dtype=np.int32)
        axis = next((a.i for a in n.attribute if a.name == "axis"), 1)
        return scale, zero, axis

    @staticmethod
    def dequantize(q, scale, zero, axis):
        if scale.size == 1:
            return ((q.astype(np.int64) - zero.reshape(())).astype(np.float32) * scale.reshape(())).astype(np.float32)
        shape = [1] * q.ndim
        shape[axis] = -1
        return ((q.astype(np.int64) - zero.reshape(shape)).astype(np.float32) * scale.reshape(shape)).astype(np.float32)

    @staticmethod
    def fake_quant(x, scale, zero, axis, rng):
        if scale.size == 1:
            return torch.fake_quantize_per_tensor_affine(x, float(scale.reshape(())), int(zero.reshape(())), rng[0], rng[1])
        return torch.fake_quantize_per_channel_affine(
            x, torch.from_numpy(scale.astype(np.float32)), torch.from_numpy(zero.astype(np.int32)), axis, rng[0], rng[1])

    def param(self, name):
        return self.params[name.replace(".", "__")]

    def forward(self, x):
        env = {self.graph.input[0].name: x}
        for n in self.graph.node:
            a = {at.name: onnx.helper.get_attribute_value(at) for at in n.attribute}
            get = lambda i: env[n.input[i]]
            if n.op_type == "DequantizeLinear" and n.output[0] in self.masters:
                name, fq = self.masters[n.output[0]]
                w = self.param(name)
                y = w if fq is None else self.fake_quant(w, *fq)
            elif n.op_type == "QuantizeLinear":
                scale, zero, axis = self.quant(n)
                y = (get(0), (scale, zero, axis, RANGES[zero.dtype.type]))  # kept for its DequantizeLinear
            elif n.op_type == "DequantizeLinear":
                x0, fq = get(0)
                y = self.fake_quant(x0, *fq)
            elif n.op_type == "Conv":
                y = F.conv2d(get(0), get(1), get(2) if len(n.input) > 2 else None, stride=a["strides"],
                             padding=a["pads"][:2], dilation=a["dilations"], groups=a["group"])
            elif n.op_type == "Gemm":
                assert a.get("transB") == 1 and a.get("alpha", 1.0) == 1.0 and a.get("beta", 1.0) == 1.0
                y = F.linear(get(0), get(1), get(2))
            elif n.op_type == "MaxPool":
                y = F.max_pool2d(get(0), a["kernel_shape"], a["strides"])
            elif n.op_type == "Flatten":
                y = get(0).flatten(a.get("axis", 1))
            elif n.op_type == "Relu":
                y = torch.relu(get(0))
            else:
                raise ValueError(f"no torch form for {n.op_type}")
            env[n.output[0]] = y
        return env[self.graph.output[0].name]


def reference(path, names, stem, x, y):
    """Three SGD steps of fake-quantize training on the QDQ file's computation."""
    model = QDQModule(path, names)
    # The module runs as ONNX Runtime runs the file, up to PyTorch's x * (1/scale).
    ort = onnxruntime.InferenceSession(path).run(None, {"input": x.numpy()})[0]
    with torch.no_grad():
        diff = np.abs(model(x).numpy() - ort).max()
    order = list(names.values())
    params = [model.param(n) for n in order]
    opt = torch.optim.SGD(params, lr=0.01, momentum=0.9, weight_decay=1e-4)
    out = {"x": x.numpy(), "y": y.numpy()}
    losses = []
    for k in range(1, 4):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        for n in order:
            out[f"step{k}/{n}"] = model.param(n).detach().numpy().copy()
    out["loss"] = np.array(losses, dtype=np.float32)
    np.savez(os.path.join(OUT, f"{stem}_sgd.npz"), **out)
    return {"name": stem, "file": f"{stem}.onnx", "training": f"{stem}_sgd.npz", "input_name": "input",
            "params": [{"name": n, "shape": list(model.param(n).shape)} for n in order],
            "groups": [{"pattern": "", "params": order}], "torch_vs_onnxruntime": float(diff)}


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = node_cases()
    net = Net().eval()
    x = torch.randn(5, 1, 8, 8)
    y = torch.tensor([0, 1, 2, 1, 0])
    fpath = os.path.join(OUT, "cnn_float.onnx")
    torch.onnx.export(net, (x,), fpath, dynamo=False, opset_version=13, input_names=["input"], output_names=["logits"])
    state = dict(net.state_dict())
    models = []
    for stem, per_channel, act in (("qdq_cnn_pc", True, QuantType.QUInt8), ("qdq_cnn_pt", False, QuantType.QInt8)):
        path = os.path.join(OUT, stem + ".onnx")
        quantize_static(fpath, path, Calibration(), quant_format=QuantFormat.QDQ, per_channel=per_channel,
                        activation_type=act, weight_type=QuantType.QInt8)
        m = onnx.load(path)
        names = {}
        for n in m.graph.node:
            if n.op_type == "DequantizeLinear" and n.input[0].endswith("_quantized"):
                name = n.input[0][: -len("_quantized")]
                assert name in state, name
                names[n.input[0]] = name
        assert sorted(names.values()) == sorted(state), (names, list(state))
        models.append(reference(path, names, stem, x, y))
    manifest = {
        "versions": {"torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__,
                     "python": sys.version.split()[0]},
        "node_cases": cases,
        "models": models,
    }
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    for m in models:
        print(m["name"], "torch vs onnxruntime", m["torch_vs_onnxruntime"])
    print(len(cases), "node cases")


if __name__ == "__main__":
    main()
