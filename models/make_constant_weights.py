"""Parameters stored as Constant nodes, as some versions of PyTorch's dynamo exporter write them
(a user's report: a dynamo export whose Linear weights were Constant nodes trained 234 of 227,154
parameters). torch 2.14.1 stores them as initializers (see docs/dynamo-exports.md), so this script
makes such a file from models/today/lenet_dynamo.onnx: every initializer the program's graph
signature lists as a PARAMETER becomes a Constant node whose output keeps the parameter's name,
placed before the graph's other nodes. The weights are the same bytes, so models/today's training
reference for lenet (lenet_sgd.npz, PyTorch's SGD on the module these weights came from) holds for
the new file too.

    .venv/bin/python models/make_constant_weights.py   # -> models/constants/
"""
import os
import re

import onnx
from onnx import helper

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "today", "lenet_dynamo.onnx")
OUT = os.path.join(HERE, "constants", "lenet_dynamo_constants.onnx")


def main():
    m = onnx.load(SRC)
    sig = next(p.value for p in m.graph.metadata_props if p.key == "pkg.torch.export.ExportedProgram.graph_signature")
    params = set(re.findall(r"PARAMETER target='([^']*)'", sig))
    kept, consts = [], []
    for t in m.graph.initializer:
        if t.name in params:
            consts.append(helper.make_node("Constant", [], [t.name], name="node_Constant_" + t.name, value=t))
        else:
            kept.append(t)
    assert consts, "no parameter initializers"
    del m.graph.initializer[:]
    m.graph.initializer.extend(kept)
    nodes = consts + list(m.graph.node)
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    onnx.checker.check_model(m)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    onnx.save(m, OUT)
    print(f"{OUT}: {len(consts)} parameters as Constant nodes")


if __name__ == "__main__":
    main()
