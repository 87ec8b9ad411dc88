#!/usr/bin/env python3
"""Recurrent fixtures: nn.LSTM, nn.GRU and nn.RNN exported by current PyTorch, and ONNX's node cases of
LSTM, GRU and RNN.

Run with the repository's reference virtual environment (scripts/reference-tools.sh):

    .venv/bin/python models/make_recurrent.py      # about 30 seconds on 2 cores

It writes, in models/today's schema (train/today_parity_test.go reads both):

    models/recurrent/<model>_ts.onnx       torch.onnx.export(..., dynamo=False): LSTM/GRU/RNN nodes, one per
                                           layer, W/R/B initializers named onnx::LSTM_<n>
    models/recurrent/<model>_dynamo.onnx   torch.onnx.export(..., dynamo=True) (the default): also ONNX's
                                           LSTM/GRU/RNN nodes, W/R/B initializers val_<n>
    models/recurrent/<model>.expected.npz  x, logits: PyTorch's eval output
    models/recurrent/<model>_sgd.npz       three SGD steps: x, y, loss [3], lrs [3, groups],
                                           step<k>/<state_dict name>
    models/recurrent/manifest.json         versions; per model the state_dict (names, shapes), numel, the
                                           exports (each checked: ONNX Runtime within 1e-5 of PyTorch, and
                                           W, R, B equal to PyTorch's weights in ONNX's layout), the groups
    graph/ops/testdata/recurrent/<case>/   ONNX's node cases of LSTM, GRU and RNN, written by onnx's own
                                           case generator (onnx.backend.test.case.node; expected outputs
                                           from ONNX's reference implementation) in the layout of
                                           ../shared/onnx-node-tests, which lacks them

Models (batch_first, exported and trained at batch 5, fixed shapes):
    lstm_cls   nn.LSTM(6, 8) -> h_n[-1] -> Linear(8, 4)                         groups: fc.* at lr 0.1
    gru_bi2    nn.GRU(6, 5, num_layers=2, bidirectional=True) -> out[:, -1]
               -> Linear(10, 4)                                                 groups: fc.* at lr 0.1 and
               gru.*_reverse at lr 0.02 without weight decay: a group that takes the second direction's half
               of each W, R and B the file holds for both directions
    rnn_cls    nn.RNN(6, 8, nonlinearity='tanh') with an initial state h0 given by a parameter,
               -> output[:, -1] -> Linear(8, 4)                                 groups: fc.* at lr 0.1

The training reference trains the module PyTorch exported (the exports hold its tensors exactly, checked).
"""

import copy
import os
import shutil
import sys
import warnings

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "recurrent")
CASES = os.path.join(HERE, "..", "graph", "ops", "testdata", "recurrent")
sys.path.insert(0, HERE)
import make_models as mm  # noqa: E402
import make_today as mt  # noqa: E402

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)

BATCH = 5
STEPS = mt.STEPS
EXPORTERS = {"ts": dict(dynamo=False), "dynamo": dict(dynamo=True, external_data=False)}
# PyTorch's gate k is ONNX's gate block GATES[k] (as graph/ops/recurrent.go declares).
GATES = {nn.LSTM: [0, 2, 3, 1], nn.GRU: [1, 0, 2], nn.RNN: [0]}


class LSTMClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(6, 8, batch_first=True)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return self.fc(h[-1])


class BiGRU2(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(6, 5, num_layers=2, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(10, 4)

    def forward(self, x):
        y, _ = self.gru(x)
        return self.fc(y[:, -1])


class RNNClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(6, 8, nonlinearity="tanh", batch_first=True)
        self.h0 = nn.Parameter(torch.zeros(1, BATCH, 8).uniform_(-0.5, 0.5))
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        y, _ = self.rnn(x, self.h0)
        return self.fc(y[:, -1])


def models():
    torch.manual_seed(0)
    out = []
    for name, cls, seq, specs in [
        ("lstm_cls", LSTMClassifier, 7, [{"pattern": "fc.*", "lr": mt.HEAD_LR}]),
        ("gru_bi2", BiGRU2, 6, [{"pattern": "fc.*", "lr": mt.HEAD_LR},
                                {"pattern": "gru.*_reverse", "lr": 0.02, "weight_decay": 0.0}]),
        ("rnn_cls", RNNClassifier, 7, [{"pattern": "fc.*", "lr": mt.HEAD_LR}]),
    ]:
        m = cls()
        seed = 300 + len(out) * 10
        x = mm.fixed_input((BATCH, seq, 6), seed)
        tx = mm.fixed_input((BATCH, seq, 6), seed + 1)
        ty = mt.labels(BATCH, 4, seed + 2)
        out.append((name, m, x, tx, ty, specs))
    return out


def onnx_layout(module, layer, reverse, part):
    """PyTorch's tensors of one direction of one layer in ONNX's layout: W, R or B (numpy)."""
    sfx = "_l%d%s" % (layer, "_reverse" if reverse else "")
    gates = GATES[type(module)]

    def perm(t):
        return torch.cat([c for _, c in sorted(zip(gates, t.chunk(len(gates))), key=lambda e: e[0])])

    sd = module.state_dict()
    if part == "B":
        return torch.cat([perm(sd["bias_ih" + sfx]), perm(sd["bias_hh" + sfx])]).numpy()
    return perm(sd[("weight_ih" if part == "W" else "weight_hh") + sfx]).numpy()


def check_weights(model, m, path):
    """Each recurrent node's W, R and B hold PyTorch's tensors exactly, in ONNX's layout (nodes in layer
    order per module)."""
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    rnn = [mod for mod in model.modules() if type(mod) in GATES][0]
    nodes = [n for n in m.graph.node if n.op_type in ("LSTM", "GRU", "RNN")]
    assert len(nodes) == rnn.num_layers, (path, len(nodes))
    dirs = 2 if rnn.bidirectional else 1
    for layer, n in enumerate(nodes):
        for k, part in ((1, "W"), (2, "R"), (3, "B")):
            got = inits[n.input[k]]
            want = np.stack([onnx_layout(rnn, layer, d == 1, part) for d in range(dirs)])
            assert got.shape == want.shape and np.array_equal(got, want), (path, n.name, part)
    return [{"node": n.name, "op": n.op_type, "inputs": list(n.input), "outputs": list(n.output),
             "attributes": {a.name: str(onnx.helper.get_attribute_value(a)) for a in n.attribute}} for n in nodes]


def export(model, x, path, kind):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(copy.deepcopy(model).eval(), (x,), path, verbose=False, **mt.IO_NAMES, **EXPORTERS[kind])
    assert not os.path.exists(path + ".data"), path
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return m


def node_cases():
    """ONNX's node cases of LSTM, GRU and RNN, written as ../shared/onnx-node-tests holds the others."""
    from onnx.backend.test.case.node import collect_testcases
    shutil.rmtree(CASES, ignore_errors=True)
    n = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = collect_testcases()
    for c in cases:
        if c.model.graph.node[0].op_type not in ("LSTM", "GRU", "RNN"):
            continue
        d = os.path.join(CASES, c.name, "test_data_set_0")
        os.makedirs(d)
        mm.write_bytes(os.path.join(CASES, c.name, "model.onnx"), c.model.SerializeToString())
        ins, outs = c.data_sets[0]
        g = c.model.graph
        for kind, vals, infos in (("input", ins, g.input), ("output", outs, g.output)):
            for i, v in enumerate(vals):
                t = numpy_helper.from_array(np.asarray(v), infos[i].name)
                mm.write_bytes(os.path.join(d, "%s_%d.pb" % (kind, i)), t.SerializeToString())
        n += 1
    print("  %d ONNX node cases -> %s" % (n, os.path.normpath(CASES)))


def main():
    os.makedirs(OUT, exist_ok=True)
    mt.OUT = OUT  # train_reference writes there
    node_cases()
    entries = []
    for name, model, x, tx, ty, specs in models():
        model.eval()
        expected = mm.eval_logits(model, x)
        mm.save_npz(os.path.join(OUT, name + ".expected.npz"), x=x.numpy(), logits=expected)
        param_names = {k for k, _ in model.named_parameters()}
        entry = {
            "name": name, "export_batch": BATCH, "train_batch": BATCH, "input_name": "input",
            "input_shape": list(x.shape), "expected": name + ".expected.npz",
            "numel": sum(p.numel() for p in model.parameters()),
            "state_dict": [{"name": k, "shape": list(t.shape), "dtype": mm.dtype_name(t.dtype),
                            "kind": "parameter" if k in param_names else "buffer"}
                           for k, t in model.state_dict().items()],
            "exports": [],
        }
        for kind in EXPORTERS:
            path = os.path.join(OUT, "%s_%s.onnx" % (name, kind))
            m = export(model, x, path, kind)
            got = mt.ort_run(path, x)
            err = float(np.abs(got - expected).max())
            assert err <= 1e-5 * float(np.abs(expected).max()), (path, err)
            ex = {"file": os.path.basename(path), "exporter": kind, "lost": [],
                  "training_case": "%s_%s" % (name, kind), "ort_vs_pytorch_max_abs": err,
                  "ops": sorted({n.op_type for n in m.graph.node})}
            if any(n.op_type in ("LSTM", "GRU", "RNN") for n in m.graph.node):
                ex["recurrent_nodes"] = check_weights(model, m, path)
            else:
                # The dynamo exporter unrolls nn.RNN into MatMul, Add and Tanh per step; its optimizer
                # may fold parameters into constants (then the file is not the module PyTorch trains).
                ex["unrolled"] = True
                ex["lost"] = mt.lost(mt.storage(model, m))
                if ex["lost"]:
                    ex["training_case"] = None
                    ex["why_no_training"] = "the export does not hold %s (folded into constants)" % ", ".join(ex["lost"])
            entry["exports"].append(ex)
            print("  wrote %-24s %6d bytes  ORT-PyTorch %.2g%s" % (os.path.basename(path), os.path.getsize(path), err,
                  ("  lost " + ",".join(ex["lost"])) if ex["lost"] else ""))
        desc, losses = mt.train_reference(name, model, tx, ty, specs)
        entry["training"] = {"file": name + "_sgd.npz", "groups": desc, "loss": losses}
        entries.append(entry)
    manifest = {"versions": mt.versions(), "recipe": {
        "export": "torch.onnx.export(model.eval(), (x,), f, input_names=['input'], output_names=['logits'], "
                  "**kwargs), fixed shapes at batch %d, default opset" % BATCH,
        "training": "the exported module; model.train(); %d steps of zero_grad, F.cross_entropy (mean), "
                    "backward, SGD step on one batch of %d" % (STEPS, BATCH),
        "optimizer": mt.SGD}, "models": entries}
    mm.write_json(os.path.join(OUT, "manifest.json"), manifest)


if __name__ == "__main__":
    sys.exit(main())
