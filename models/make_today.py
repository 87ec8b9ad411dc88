#!/usr/bin/env python3
"""Today's exports of the sample models: current PyTorch's two ONNX exporters, as users have them.

Run with the repository's reference virtual environment (scripts/reference-tools.sh installs
torch 2.14.1, torchvision 0.29.1, onnx, onnxscript, onnxruntime into .venv):

    bash scripts/reference-tools.sh
    .venv/bin/python models/make_today.py        # writes models/today/, about 1 minute on 2 cores

It imports the architectures and helpers of make_models.py (which stays the PyTorch 1.13 script of
the fixtures in models/; its files are not touched) and writes models/today/:

    <export>.onnx          one file per model and exporter, no external data:
                             <model>_dynamo.onnx        torch.onnx.export(..., dynamo=True)  (default since 2.9)
                             <model>_ts.onnx            torch.onnx.export(..., dynamo=False) (TorchScript)
                             <model>_dynamo_noopt.onnx  dynamo=True, optimize=False: written only where the
                                                        default optimization changes how a parameter is stored
                             <model>_ts_preserve.onnx   dynamo=False, training=PRESERVE,
                                                        do_constant_folding=False: written only where the
                                                        default TorchScript export drops a parameter (BatchNorm
                                                        fused into Conv)
                           All fixed shapes (no dynamic_axes / dynamic_shapes), eval mode, default opset,
                           input_names=["input"], output_names=["logits"].
    <model>.expected.npz   x: the input batch at the exported batch B; logits: PyTorch's eval output for x
    <model>_sgd.npz        the training reference, in models/train's layout: x, y, loss [3], lrs [3, groups],
                           step<k>/<state_dict name> for k = 1, 2, 3 (parameters and BatchNorm running
                           statistics; a float64 parameter is saved as float64)
    cases.json             one entry per export that holds every parameter, in models/train/cases.json's
                           schema (onnx is "today/<file>"), plus input_name, input_dtype, export_batch and
                           each group's glob ("pattern") as onnxtune's --group gives it
    manifest.json          versions; per model its state_dict (name, shape, dtype, parameter or buffer),
                           sum(p.numel() for p in model.parameters()), and per export where each state_dict
                           tensor is stored in the file ("storage"), the ONNX Runtime check, and "facts"
                           measured from the file (docs/dynamo-exports.md is written from them)

Every training reference is computed on a fresh module loaded from an exported file: each state_dict
tensor is found in the file (by name, or as the transpose, reshape or cast the exporter stored) and
copied in; the loaded state must equal the original module's bit for bit, for every export the case
names. Exports that lost a parameter (BatchNorm folded into Conv or Gemm) get no training case: the
file no longer holds what PyTorch trains (manifest "why_no_training").

Seeded and single-config (torch.set_num_threads(2), deterministic algorithms, fixed zip timestamps).
Re-running in the same checkout path with the same versions rewrites identical files. The dynamo
exporter records stack traces in node metadata, with absolute source paths and line numbers (of
make_models.py, of this script for the special cases, of torch): editing either script changes them.
"""

import copy
import fnmatch
import json
import os
import platform
import sys
import warnings
from collections import Counter

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "today")
sys.path.insert(0, HERE)
import make_models as mm  # noqa: E402  (top level only defines things and sets torch threads/determinism)

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)

EXPORT_BATCH = 2  # B: the batch the sample models are exported at
TRAIN_BATCH = 5  # N: the batch the training references use (N != B for the sample models)
STEPS = 3
BACKBONE_LR = 0.01
HEAD_LR = 0.1
SGD = {"type": "SGD", "lr": BACKBONE_LR, "momentum": 0.9, "dampening": 0.0, "nesterov": False, "weight_decay": 1e-4}


# ----------------------------------------------------------------------------------------------
# Special-case architectures (the sample architectures come from make_models.py)
# ----------------------------------------------------------------------------------------------


class ScalarParams(nn.Module):
    """0-d and shape-[1] parameters: a 0-d leaky slope in the backbone, a shape-[1] shift on the head's
    input and a 0-d scale on its output (a shift of the logits themselves would get no gradient from
    cross-entropy)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(20, 16)
        self.alpha = nn.Parameter(torch.tensor(0.25))
        self.head = nn.Linear(16, 4)
        self.head_scale = nn.Parameter(torch.tensor(1.5))
        self.head_shift = nn.Parameter(torch.tensor([0.1]))

    def forward(self, x):
        h = self.fc(x)
        h = torch.relu(h) - self.alpha * torch.relu(-h)
        return self.head(h + self.head_shift) * self.head_scale


class WeightViews(nn.Module):
    """Parameters the model reads through a view: x @ proj.t() (Transpose), skip.clone() (Identity),
    nn.Linear on a 3-D input (MatMul with the weight transposed), gain.unsqueeze(0) (Unsqueeze),
    flat.view(16, 8) (Reshape) and a float64 head cast to float32 (Cast). Input (N, 3, 12)."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Parameter(0.3 * torch.randn(16, 12))
        self.skip = nn.Parameter(0.1 * torch.randn(12, 16))
        self.mixer = nn.Linear(16, 16)
        self.gain = nn.Parameter(1.0 + 0.1 * torch.randn(16))
        self.flat = nn.Parameter(0.2 * torch.randn(128))
        # float32 values widened to float64, so that the float32 copy the optimized export stores
        # holds exactly the parameter's values.
        self.head64 = nn.Parameter((0.3 * torch.randn(4, 8)).double())
        self.head_bias = nn.Parameter(0.1 * torch.randn(4))

    def forward(self, x):
        h = torch.relu(x @ self.proj.t() + x @ self.skip.clone())
        h = torch.relu(self.mixer(h))
        h = h.mean(1) * self.gain.unsqueeze(0)
        h = torch.relu(h @ self.flat.view(16, 8))
        return F.linear(h, self.head64.float(), self.head_bias)


class OverlapMLP(nn.Module):
    """A three-layer MLP trained with two --group globs that overlap (fc3.* and *.bias)."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(20, 32)
        self.fc2 = nn.Linear(32, 16)
        self.fc3 = nn.Linear(16, 4)

    def forward(self, x):
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


# ----------------------------------------------------------------------------------------------
# The models
# ----------------------------------------------------------------------------------------------


def labels(n, classes, gen_seed):
    g = torch.Generator().manual_seed(gen_seed)
    return torch.randint(0, classes, (n,), generator=g, dtype=torch.int64)


def onnx_tensors(path):
    """Initializers by name, with Identity outputs fed by one (as make_train_fixtures.py reads them)."""
    m = onnx.load(path)
    t = {i.name: numpy_helper.to_array(i).copy() for i in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type == "Identity" and n.input[0] in t:
            t[n.output[0]] = t[n.input[0]]
    return t


def mnist_lenet():
    """The demo's MNIST LeNet: the 10-class model onnxtune's remap makes, conv1, conv2, fc1 and fc2 from
    models/mnist_lenet_0to4.onnx (trained on digits 0-4 by make_models.py) and the fresh fc3 of
    models/mnist_lenet_10.onnx, read from those files. Its inputs are MNIST test digits stored there."""
    m = mm.MnistLeNet(num_classes=10)
    pre = onnx_tensors(os.path.join(HERE, "mnist_lenet_0to4.onnx"))
    new = onnx_tensors(os.path.join(HERE, "mnist_lenet_10.onnx"))
    m.load_state_dict({k: torch.from_numpy((new if k.startswith("fc3.") else pre)[k]) for k in m.state_dict()})
    e = np.load(os.path.join(HERE, "mnist_lenet_0to4.expected.npz"))
    test = np.load(os.path.join(HERE, "mnist_0to4_test.npz"))
    x = torch.from_numpy(e["x"][:EXPORT_BATCH].copy())
    tx = torch.from_numpy(test["x"][:TRAIN_BATCH].copy())
    ty = torch.from_numpy(test["y"][:TRAIN_BATCH].copy())
    return m, x, tx, ty


def models():
    """(name, arch, notes, module, x at the export batch, training x, training y, group specs)."""
    out = []
    head = lambda h: [{"pattern": h + ".*", "lr": HEAD_LR}]  # noqa: E731

    mm.seed(1)
    m = mm.LeNet()
    out.append(("lenet", "lenet", "make_models.py's LeNet, seed 1 (3x32x32, 10 classes)", m,
                mm.fixed_input((EXPORT_BATCH, 3, 32, 32), 11),
                mm.fixed_input((TRAIN_BATCH, 3, 32, 32), 2011), labels(TRAIN_BATCH, 10, 2012), head("fc3")))

    m, x, tx, ty = mnist_lenet()
    out.append(("mnist_lenet", "mnist_lenet",
                "the demo's remapped MnistLeNet (1x28x28, 10 classes): conv1, conv2, fc1, fc2 from "
                "models/mnist_lenet_0to4.onnx, fc3 from models/mnist_lenet_10.onnx; x: the first MNIST test digits "
                "of mnist_lenet_0to4.expected.npz; training batch: the first digits of mnist_0to4_test.npz with "
                "their labels", m, x, tx, ty, head("fc3")))

    mm.seed(2)
    m = mm.BNCNN()
    mm.randomize_bn_affine(m, 21)
    mm.calibrate_bn(m, (3, 16, 16), gen_seed=22)
    out.append(("bn_cnn", "bn_cnn", "make_models.py's BNCNN recipe (seed 2, random BN affine, BN statistics "
                "from 3 train-mode passes)", m, mm.fixed_input((EXPORT_BATCH, 3, 16, 16), 23),
                mm.fixed_input((TRAIN_BATCH, 3, 16, 16), 2031), labels(TRAIN_BATCH, 4, 2032), head("fc")))

    mm.seed(3)
    m = mm.BNTied()
    out.append(("bn_tied", "bn_tied", "fresh BNTied (seed 3): two BatchNorm2d(8) with equal tensors "
                "(weight 1, bias 0, mean 0, var 1)", m, mm.fixed_input((EXPORT_BATCH, 3, 16, 16), 31),
                mm.fixed_input((TRAIN_BATCH, 3, 16, 16), 2041), labels(TRAIN_BATCH, 4, 2042), head("fc")))

    mm.seed(4)
    m = mm.MLPBN()
    mm.randomize_bn_affine(m, 41)
    mm.calibrate_bn(m, (20,), gen_seed=42, batch=16)
    out.append(("mlp_bn", "mlp_bn", "make_models.py's MLPBN recipe (seed 4): Linear-BatchNorm1d-ReLU-"
                "Dropout(0.5)-Linear; Dropout p set to 0 for training", m,
                mm.fixed_input((EXPORT_BATCH, 20), 43),
                mm.fixed_input((TRAIN_BATCH, 20), 2051), labels(TRAIN_BATCH, 3, 2052), head("fc2")))

    mm.seed(5)
    m = mm.TransformerClassifier()
    mm.perturb_params(m, 52)
    out.append(("transformer", "transformer", "make_models.py's TransformerClassifier (seed 5, noise seed 52): "
                "Embedding(50,16) + 2 TransformerEncoderLayers + mean + Linear(16,3), int64 tokens (batch, 8); "
                "every dropout set to 0 for training", m,
                mm.fixed_input((EXPORT_BATCH, 8), 51, dtype=torch.int64, high=50),
                mm.fixed_input((TRAIN_BATCH, 8), 2061, dtype=torch.int64, high=50),
                labels(TRAIN_BATCH, 3, 2062), head("fc")))

    mm.seed(5)
    m = mm.TransformerClassifier()
    out.append(("transformer_tied", "transformer", "the same TransformerClassifier freshly built (seed 5): both "
                "encoder layers are copies of one (nn.TransformerEncoder deep-copies it), attention biases are 0, "
                "LayerNorm weights 1 and biases 0, so many state_dict tensors are equal", m,
                mm.fixed_input((EXPORT_BATCH, 8), 51, dtype=torch.int64, high=50),
                mm.fixed_input((TRAIN_BATCH, 8), 2061, dtype=torch.int64, high=50),
                labels(TRAIN_BATCH, 3, 2062), head("fc")))

    # Special cases: exported at the training batch, so that only the case itself is tested.
    mm.seed(6)
    m = ScalarParams()
    out.append(("scalar_params", "scalar_params", "special case (a): 0-d parameters alpha (backbone) and "
                "head_scale = nn.Parameter(torch.tensor(1.5)), shape-[1] head_shift; exported at the training batch",
                m, mm.fixed_input((TRAIN_BATCH, 20), 71), mm.fixed_input((TRAIN_BATCH, 20), 2071),
                labels(TRAIN_BATCH, 4, 2072), [{"pattern": "head*", "lr": HEAD_LR}]))

    mm.seed(7)
    m = WeightViews()
    out.append(("weight_views", "weight_views", "special case (b): parameters read through Transpose (.t()), "
                "Identity (.clone()), a Linear on 3-D input, Unsqueeze, Reshape (.view) and Cast (float64 "
                "parameter .float()); exported at the training batch", m,
                mm.fixed_input((TRAIN_BATCH, 3, 12), 81), mm.fixed_input((TRAIN_BATCH, 3, 12), 2081),
                labels(TRAIN_BATCH, 4, 2082), [{"pattern": "head*", "lr": HEAD_LR}]))

    mm.seed(8)
    m = OverlapMLP()
    out.append(("overlap_groups", "overlap_mlp", "special case (c): --group 'fc3.*:lr=0.1' --group "
                "'*.bias:lr=0.02,weight_decay=0': fc3.bias matches both; onnxtune gives a parameter to the first "
                "group that matches; exported at the training batch", m,
                mm.fixed_input((TRAIN_BATCH, 20), 91), mm.fixed_input((TRAIN_BATCH, 20), 2091),
                labels(TRAIN_BATCH, 4, 2092),
                [{"pattern": "fc3.*", "lr": HEAD_LR}, {"pattern": "*.bias", "lr": 0.02, "weight_decay": 0.0}]))
    return out


# ----------------------------------------------------------------------------------------------
# Exports
# ----------------------------------------------------------------------------------------------

IO_NAMES = dict(input_names=["input"], output_names=["logits"])
EXPORTERS = {
    "dynamo": dict(dynamo=True, external_data=False),
    "dynamo_noopt": dict(dynamo=True, external_data=False, optimize=False),
    "ts": dict(dynamo=False),
    "ts_preserve": dict(dynamo=False, training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False),
}


def kwargs_json(kw):
    return {k: (str(v) if isinstance(v, torch.onnx.TrainingMode) else v) for k, v in kw.items()}


def export(model, x, path, kind):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(copy.deepcopy(model).eval(), (x,), path, verbose=False, **IO_NAMES, **EXPORTERS[kind])
    assert not os.path.exists(path + ".data"), "external data written for " + path
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return m


def file_values(m):
    """Every float tensor the file holds: name -> (array, where). Initializers, Constant node values
    and Identity outputs of either."""
    vals = {}
    for i in m.graph.initializer:
        vals[i.name] = (numpy_helper.to_array(i), "initializer")
    for n in m.graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    vals[n.output[0]] = (numpy_helper.to_array(a.t), "Constant node " + n.name)
        if n.op_type == "Identity" and n.input[0] in vals:
            vals[n.output[0]] = (vals[n.input[0]][0], "Identity of " + n.input[0])
    return {k: v for k, v in vals.items() if v[0].dtype.kind == "f"}


def same(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def locate(name, v, vals, consumers):
    """Where state_dict tensor `name` (numpy v) is in the file. transform: "none" (the values under that
    name), "transpose" (stored transposed), "reshape", "cast" (stored in another float type), "unsqueeze"
    (a leading 1 added); "other values" when a tensor has the name but not the values (fused); "dropped
    zeros" for an all-zero tensor the file does not hold; "absent". A tensor found by value under another
    name may be shared with other state_dict entries (the optimizer de-duplicates equal tensors)."""
    rec = {"value": None, "where": None, "found_by": None, "transform": "absent", "read_by": []}
    if name in vals:
        a, where = vals[name]
        rec.update(value=name, where=where, found_by="name", read_by=consumers.get(name, []))
        rec["transform"] = "none" if same(a, v) else "other values"
        return rec
    for k in sorted(vals):
        a, where = vals[k]
        if a.size != v.size:
            continue
        if same(a, v):
            t = "none"
        elif v.ndim == 2 and a.shape == v.T.shape and a.dtype == v.dtype and same(np.ascontiguousarray(a.T), v):
            t = "transpose"
        elif a.dtype == v.dtype and a.shape == (1,) + v.shape and same(a.reshape(v.shape), v):
            t = "unsqueeze"
        elif a.dtype == v.dtype and same(a.reshape(v.shape), v):
            t = "reshape"
        elif a.dtype != v.dtype and a.shape == v.shape and same(a, v.astype(a.dtype)) and \
                same(a.astype(v.dtype), v):
            t = "cast"
        else:
            continue
        rec.update(value=k, where=where, found_by="value", transform=t, read_by=consumers.get(k, []))
        return rec
    if v.dtype.kind == "f" and not v.any():
        # An all-zero tensor that the file does not hold: the optimizer drops a zero bias input of
        # Conv and Gemm (the same computation); its value is known.
        rec["transform"] = "dropped zeros"
    return rec


def undo(a, transform, like):
    if transform == "transpose":
        a = np.ascontiguousarray(a.T)
    elif transform in ("reshape", "unsqueeze"):
        a = a.reshape(like.shape)
    elif transform == "cast":
        a = a.astype(like.dtype)
    elif transform == "dropped zeros":
        a = np.zeros_like(like)
    return a


def storage(model, m):
    """state_dict name -> locate() record, num_batches_tracked left out (the exporters drop it)."""
    vals = file_values(m)
    consumers = {}
    for n in m.graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n.op_type)
    return {k: locate(k, v.detach().numpy(), vals, consumers)
            for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}


def load_from_file(cls_model, path, store):
    """A fresh copy of the architecture with every state_dict tensor copied from the file at path."""
    fresh = copy.deepcopy(cls_model)
    with torch.no_grad():  # scramble it first, so that nothing is left from the original by accident
        for p in fresh.state_dict().values():
            if p.dtype.is_floating_point:
                p.fill_(float("nan"))
    vals = file_values(onnx.load(path))
    sd = fresh.state_dict()
    new = {}
    for k, rec in store.items():
        if rec["transform"] in ("absent", "other values"):
            raise ValueError("%s: %s is not in the file (%s)" % (path, k, rec["transform"]))
        a = vals[rec["value"]][0] if rec["value"] is not None else None
        new[k] = torch.from_numpy(undo(a, rec["transform"], sd[k].numpy()).copy())
    res = fresh.load_state_dict(new, strict=False)
    missing = [k for k in res.missing_keys if not k.endswith("num_batches_tracked")]
    assert not missing and not res.unexpected_keys, (missing, res.unexpected_keys)
    return fresh


def ort_run(path, x):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: x.numpy()})[0]


# ----------------------------------------------------------------------------------------------
# Facts measured from a file, for docs/dynamo-exports.md
# ----------------------------------------------------------------------------------------------


def dims(vi):
    return [d.dim_value if d.HasField("dim_value") else d.dim_param for d in vi.type.tensor_type.shape.dim]


def const_ints(m):
    """Integer tensors the file holds (initializers and Constant nodes, value or value_ints)."""
    out = {}
    for i in m.graph.initializer:
        a = numpy_helper.to_array(i)
        if a.dtype.kind in "iu":
            out[i.name] = a.ravel().tolist()
    for n in m.graph.node:
        if n.op_type != "Constant":
            continue
        for a in n.attribute:
            if a.name == "value" and a.t.data_type in (onnx.TensorProto.INT64, onnx.TensorProto.INT32):
                out[n.output[0]] = numpy_helper.to_array(a.t).ravel().tolist()
            elif a.name == "value_ints":
                out[n.output[0]] = list(a.ints)
            elif a.name == "value_int":
                out[n.output[0]] = [a.i]
    return out


def facts(m, batch):
    g = m.graph
    ints = const_ints(m)
    meta_keys = Counter()
    for n in g.node:
        for p in n.metadata_props:
            meta_keys[p.key] += 1
    for n in g.node:  # shapes built by Concat of constants (the unoptimized dynamo export)
        if n.op_type == "Concat" and all(i in ints for i in n.input):
            ints[n.output[0]] = [v for i in n.input for v in ints[i]]
    shape_inputs = {"Reshape": 1, "Expand": 1, "Tile": 1, "ConstantOfShape": 0}
    pinned = []
    for n in g.node:
        if n.op_type in shape_inputs and len(n.input) > shape_inputs[n.op_type]:
            src = n.input[shape_inputs[n.op_type]]
            if src in ints:
                pinned.append({"node": n.name, "op": n.op_type, "shape_input": src, "values": ints[src],
                               "has_batch": batch in ints[src]})
    consts = []
    for n in g.node:
        if n.op_type == "Constant":
            a = n.attribute[0]
            if a.name == "value":
                consts.append({"output": n.output[0], "attr": "value", "dtype": onnx.TensorProto.DataType.Name(
                    a.t.data_type), "dims": list(a.t.dims)})
            else:
                consts.append({"output": n.output[0], "attr": a.name})
    example = None
    for n in g.node:
        if n.op_type in ("Gemm", "Conv") and n.metadata_props:
            example = {"name": n.name, "op": n.op_type, "inputs": list(n.input), "outputs": list(n.output),
                       "metadata_props": {p.key: p.value for p in n.metadata_props}}
            break
    return {
        "ir_version": m.ir_version,
        "opset_import": {o.domain or "ai.onnx": o.version for o in m.opset_import},
        "producer": "%s %s" % (m.producer_name, m.producer_version),
        "graph_name": g.name,
        "model_metadata_props": {p.key: p.value for p in m.metadata_props},
        "functions": len(m.functions),
        "inputs": [{"name": i.name, "shape": dims(i),
                    "metadata_props": {p.key: p.value for p in i.metadata_props}} for i in g.input],
        "outputs": [{"name": o.name, "shape": dims(o)} for o in g.output],
        "value_info": len(g.value_info),
        "initializers": [{"name": i.name, "dims": list(i.dims),
                          "dtype": onnx.TensorProto.DataType.Name(i.data_type),
                          "metadata_props": {p.key: p.value for p in i.metadata_props}} for i in g.initializer],
        "constant_nodes": len(consts),
        "constant_nodes_first": consts[:8],
        "ops": dict(sorted(Counter(n.op_type for n in g.node).items())),
        "node_names_first": [n.name for n in g.node][:12],
        "node_metadata_keys": dict(sorted(meta_keys.items())),
        "nodes_with_metadata": sum(1 for n in g.node if n.metadata_props),
        "nodes": len(g.node),
        "shape_constants": pinned,
        "example_node": example,
    }


# ----------------------------------------------------------------------------------------------
# Probes: small in-memory exports for exporter behaviour the fixtures do not show (not written)
# ----------------------------------------------------------------------------------------------


class _ZeroBias(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(4, 3)
        nn.init.zeros_(self.conv.bias)
        nn.init.zeros_(self.fc.bias)

    def forward(self, x):
        return self.fc(self.conv(x).mean((2, 3)))


class _SharedModule(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(6, 6)
        self.b = self.a  # the same module under two names

    def forward(self, x):
        return self.b(torch.relu(self.a(x)))


class _BigTiedTransposed(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(0.01 * torch.randn(100, 100))  # 10,000 elements: over the folder's 8,192

    def forward(self, x):
        return torch.relu(x @ self.w.t()) @ self.w.t()


class _Attributes(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 4)
        self.plain = torch.randn(4)  # a tensor attribute, not registered
        self.register_buffer("scale", torch.randn(4), persistent=False)

    def forward(self, x):
        return self.fc(x) * self.plain + self.scale


def _summary(m):
    return {
        "initializers": ["%s %s %s" % (i.name, list(i.dims), onnx.TensorProto.DataType.Name(i.data_type))
                         for i in m.graph.initializer],
        "nodes": ["%s(%s)" % (n.op_type, ", ".join(n.input)) for n in m.graph.node],
        "functions": ["%s::%s(%s)" % (f.domain, f.name, ", ".join(f.input)) for f in m.functions],
        "inputs": [i.name for i in m.graph.input],
        "outputs": [o.name for o in m.graph.output],
    }


def _probe_export(model, x, **kw):
    import io
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), (x,), buf, verbose=False, **kw)
    return _summary(onnx.load_from_string(buf.getvalue()))


def probes():
    import tempfile
    out = {}
    mm.seed(101)
    # The dynamo exporter's defaults when f is a path: external data, input named after forward's argument.
    with tempfile.TemporaryDirectory() as d:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(mm.LeNet().eval(), (torch.randn(2, 3, 32, 32),), os.path.join(d, "lenet.onnx"),
                              dynamo=True, verbose=False)
        m = onnx.load(os.path.join(d, "lenet.onnx"), load_external_data=False)
        out["dynamo_defaults_to_a_path"] = {
            "call": "torch.onnx.export(model, (x,), 'lenet.onnx', dynamo=True)",
            "files": {f: os.path.getsize(os.path.join(d, f)) for f in sorted(os.listdir(d))},
            "external_initializers": sum(1 for i in m.graph.initializer
                                         if i.data_location == onnx.TensorProto.EXTERNAL),
            "initializers": len(m.graph.initializer),
            "inputs": [i.name for i in m.graph.input], "outputs": [o.name for o in m.graph.output],
        }
    x4 = torch.randn(2, 3, 6, 6)
    mm.seed(102)
    zb = _ZeroBias()
    out["zero_bias"] = {"model": "Conv2d and Linear whose biases are zero (nn.init.zeros_)",
                        "dynamo": _probe_export(zb, x4, dynamo=True),
                        "dynamo_noopt": _probe_export(zb, x4, dynamo=True, optimize=False),
                        "ts": _probe_export(zb, x4, dynamo=False)}
    x6 = torch.randn(2, 6)
    mm.seed(103)
    sm = _SharedModule()
    out["shared_module"] = {"model": "self.b = self.a (one nn.Linear under two names)",
                            "state_dict": list(sm.state_dict()),
                            "named_parameters": [k for k, _ in sm.named_parameters()],
                            "dynamo": _probe_export(sm, x6, dynamo=True),
                            "ts": _probe_export(sm, x6, dynamo=False)}
    mm.seed(104)
    bt = _BigTiedTransposed()
    x100 = torch.randn(2, 100)
    out["big_weight_transposed_twice"] = {"model": "w [100, 100] used as w.t() twice",
                                          "dynamo": _probe_export(bt, x100, dynamo=True),
                                          "ts": _probe_export(bt, x100, dynamo=False)}
    mm.seed(105)
    at = _Attributes()
    out["tensor_attributes"] = {"model": "a plain tensor attribute and a non-persistent buffer",
                                "state_dict": list(at.state_dict()),
                                "dynamo": _probe_export(at, x6, dynamo=True),
                                "ts": _probe_export(at, x6, dynamo=False)}
    mm.seed(106)
    bn = mm.BNCNN().eval()
    x16 = torch.randn(2, 3, 16, 16)
    out["batchnorm_options"] = {
        "model": "BNCNN",
        "dynamo training=PRESERVE": _probe_export(bn, x16, dynamo=True,
                                                  training=torch.onnx.TrainingMode.PRESERVE),
        "dynamo do_constant_folding=False": _probe_export(bn, x16, dynamo=True, do_constant_folding=False),
    }
    mlp = nn.Sequential(nn.Linear(6, 6), nn.ReLU(), nn.Linear(6, 3))
    out["ts_export_modules_as_functions"] = {
        "model": "nn.Sequential(Linear, ReLU, Linear), export_modules_as_functions={nn.Linear}",
        "ts": _probe_export(mlp, x6, dynamo=False, export_modules_as_functions={nn.Linear})}
    return out


# ----------------------------------------------------------------------------------------------
# Training reference
# ----------------------------------------------------------------------------------------------


def no_dropout(model):
    for mod in model.modules():
        if isinstance(mod, nn.Dropout):
            mod.p = 0.0
        if isinstance(mod, nn.MultiheadAttention):
            mod.dropout = 0.0


def resolve_groups(model, specs):
    """onnxtune's --group semantics (train/groups.go Assign): each trainable parameter goes to the first
    spec whose glob matches its name, else to the default group. Returns [(spec or None, [names])]."""
    groups = [(None, [])] + [(s, []) for s in specs]
    for k, p in model.named_parameters():
        for gi, s in enumerate(specs):
            if fnmatch.fnmatchcase(k, s["pattern"]):
                groups[gi + 1][1].append(k)
                break
        else:
            groups[0][1].append(k)
    for s, names in groups:
        assert names, "group %s matches no parameter" % (s,)
    return groups


def saved_state(model):
    return {k: v.detach().clone().numpy() for k, v in model.state_dict().items()
            if not k.endswith("num_batches_tracked")}


def train_reference(name, model, tx, ty, specs):
    no_dropout(model)
    groups = resolve_groups(model, specs)
    params = dict(model.named_parameters())
    pg = []
    for s, names in groups:
        g = {"params": [params[k] for k in names]}
        if s:
            g.update({k: v for k, v in s.items() if k != "pattern"})
        pg.append(g)
    opt = torch.optim.SGD(pg, lr=SGD["lr"], momentum=SGD["momentum"], dampening=SGD["dampening"],
                          nesterov=SGD["nesterov"], weight_decay=SGD["weight_decay"])
    model.train()
    arrays = {"x": tx.numpy(), "y": ty.numpy()}
    losses, lrs = [], []
    for s in range(1, STEPS + 1):
        lrs.append([g["lr"] for g in opt.param_groups])
        opt.zero_grad()
        loss = F.cross_entropy(model(tx), ty)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        for k, v in saved_state(model).items():
            arrays["step%d/%s" % (s, k)] = v
    ordered = {"x": arrays.pop("x"), "y": arrays.pop("y"), "loss": np.array(losses, dtype=np.float32),
               "lrs": np.array(lrs, dtype=np.float64)}
    ordered.update(arrays)
    mm.save_npz(os.path.join(OUT, name + "_sgd.npz"), **ordered)
    print("  %-16s loss %s" % (name, " ".join("%.6f" % v for v in losses)))
    desc = []
    for s, names in groups:
        d = {"params": names}
        if s:
            d = dict({"pattern": s["pattern"]}, **d)
            d.update({k: v for k, v in s.items() if k != "pattern"})
        desc.append(d)
    return desc, losses


# ----------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------


def versions():
    import onnxruntime
    import onnxscript
    import torchvision
    return {"torch": torch.__version__, "torchvision": torchvision.__version__, "onnx": onnx.__version__,
            "onnxscript": onnxscript.__version__, "onnxruntime": onnxruntime.__version__,
            "numpy": np.__version__, "python": platform.python_version()}


def shared(store):
    """Values of the file that hold more than one state_dict tensor: value -> [names]."""
    by = {}
    for k, r in store.items():
        if r["value"] is not None and r["transform"] not in ("other values",):
            by.setdefault(r["value"], []).append(k)
    return {v: ks for v, ks in sorted(by.items()) if len(ks) > 1}


def lost(store):
    return sorted(k for k, r in store.items() if r["transform"] in ("absent", "other values"))


def main():
    os.makedirs(OUT, exist_ok=True)
    v = versions()
    print("today's exports -> %s (%s)" % (OUT, ", ".join("%s %s" % kv for kv in v.items())))
    entries, cases = [], []
    for name, arch, notes, model, x, tx, ty, specs in models():
        model.eval()
        expected = mm.eval_logits(model, x)
        mm.save_npz(os.path.join(OUT, name + ".expected.npz"), x=x.numpy(), logits=expected)
        sd = model.state_dict()
        param_names = {k for k, _ in model.named_parameters()}
        entry = {
            "name": name, "arch": arch, "notes": notes,
            "export_batch": int(x.shape[0]), "train_batch": int(tx.shape[0]),
            "input_name": "input", "input_shape": list(x.shape), "input_dtype": mm.dtype_name(x.dtype),
            "output_name": "logits", "output_shape": list(expected.shape), "num_classes": int(expected.shape[1]),
            "expected": name + ".expected.npz",
            "numel": sum(p.numel() for p in model.parameters()),
            "state_dict": [{"name": k, "shape": list(t.shape), "dtype": mm.dtype_name(t.dtype),
                            "kind": "parameter" if k in param_names else "buffer"} for k, t in sd.items()],
            "exports": [],
        }
        kinds = ["dynamo", "ts"]
        stores = {}
        for kind in list(kinds):
            path = os.path.join(OUT, "%s_%s.onnx" % (name, kind))
            m = export(model, x, path, kind)
            stores[kind] = (path, m, storage(model, m))
        # The optional variants, where the default export changed how parameters are stored.
        dyn = stores["dynamo"][2]
        if any(r["transform"] != "none" or r["value"] != k for k, r in dyn.items()):
            kinds.insert(1, "dynamo_noopt")
        if lost(stores["ts"][2]):
            kinds.append("ts_preserve")
        for kind in kinds:
            if kind not in stores:
                path = os.path.join(OUT, "%s_%s.onnx" % (name, kind))
                m = export(model, x, path, kind)
                stores[kind] = (path, m, storage(model, m))
        loaded = None
        for kind in kinds:
            path, m, store = stores[kind]
            got = ort_run(path, x)
            err = float(np.abs(got - expected).max())
            scale = float(np.abs(expected).max())
            assert err <= 1e-4 * scale, (path, err, scale)
            ex = {"file": os.path.basename(path), "exporter": kind, "kwargs": kwargs_json(EXPORTERS[kind]),
                  "bytes": os.path.getsize(path), "ort_vs_pytorch_max_abs": err, "largest_output": scale,
                  "storage": store, "lost": lost(store),
                  "dropped_zeros": sorted(k for k, r in store.items() if r["transform"] == "dropped zeros"),
                  "shared": shared(store), "training_case": None}
            if ex["lost"]:
                ex["why_no_training"] = ("the export does not hold %s (BatchNorm folded into the layer before it): "
                                         "the file is not the module PyTorch trains" % ", ".join(ex["lost"]))
            else:
                fresh = load_from_file(model, path, store)
                for k, t in fresh.state_dict().items():
                    if not k.endswith("num_batches_tracked"):
                        assert same(t.numpy(), sd[k].numpy()), (path, k)
                assert np.array_equal(mm.eval_logits(fresh, x), expected), path
                if loaded is None:
                    loaded = fresh
                ex["training_case"] = "%s_%s" % (name, kind)
            ex["facts"] = facts(m, int(x.shape[0]))
            entry["exports"].append(ex)
            print("  wrote %-34s %8d bytes  opset %s ir %d  ORT-PyTorch %.2g%s" % (
                ex["file"], ex["bytes"], ex["facts"]["opset_import"].get("ai.onnx"), m.ir_version, err,
                ("  lost " + ",".join(ex["lost"])) if ex["lost"] else ""))
        assert loaded is not None, name
        desc, losses = train_reference(name, loaded, tx, ty, specs)
        entry["training"] = {"file": name + "_sgd.npz", "groups": desc, "loss": losses}
        for ex in entry["exports"]:
            if ex["training_case"] is None:
                continue
            cases.append({
                "name": ex["training_case"], "file": name + "_sgd.npz", "onnx": "today/" + ex["file"],
                "arch": arch, "input_name": "input", "input_shape": list(tx.shape),
                "input_dtype": mm.dtype_name(tx.dtype), "export_batch": int(x.shape[0]),
                "num_classes": int(expected.shape[1]), "x_seed": None, "y_seed": None,
                "train_mode": True, "steps": STEPS, "saved_steps": list(range(1, STEPS + 1)),
                "loss": {"fn": "cross_entropy", "reduction": "mean", "label_smoothing": 0.0},
                "optimizer": dict(SGD), "groups": desc, "frozen": [], "schedule": None, "dropout_p": 0.0,
            })
        entries.append(entry)
    manifest = {
        "versions": v,
        "recipe": {
            "export": "torch.onnx.export(model.eval(), (x,), f, input_names=['input'], output_names=['logits'], "
                      "**kwargs) with the exporter's kwargs; fixed shapes, default opset",
            "export_batch": EXPORT_BATCH,
            "train_batch": TRAIN_BATCH,
            "training": "fresh module loaded from the export; model.train(); every dropout p = 0; %d steps of "
                        "zero_grad, F.cross_entropy (mean), backward, SGD step, on one batch" % STEPS,
            "optimizer": SGD,
            "groups": "default group at lr %g; --group globs resolved as onnxtune does (first match wins)"
                      % BACKBONE_LR,
        },
        "models": entries,
        "probes": probes(),
    }
    mm.write_json(os.path.join(OUT, "manifest.json"), manifest)
    mm.write_json(os.path.join(OUT, "cases.json"), cases)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print("  %d files, %d bytes in %s" % (len(os.listdir(OUT)), total, OUT))


if __name__ == "__main__":
    sys.exit(main())
