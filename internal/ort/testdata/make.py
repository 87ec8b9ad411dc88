#!/usr/bin/env python3
"""Writes the fixtures of internal/ort's tests.

Run from anywhere with Debian's interpreter (it has onnx and numpy):

    /usr/bin/python3 internal/ort/testdata/make.py

Outputs, next to this script:
  add.onnx  a tiny model: inputs x, y float32 [batch, 3] (symbolic batch);
            outputs, in this order:
              sum   = x + y            float32 [batch, 3]
              total = ReduceSum(sum)   float32 scalar (rank 0)
              shape = Shape(x)         int64   [2]
  add.json  input values and the outputs numpy computes for them.
"""
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))


def model():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])
    s = helper.make_tensor_value_info("sum", TensorProto.FLOAT, ["batch", 3])
    t = helper.make_tensor_value_info("total", TensorProto.FLOAT, [])
    n = helper.make_tensor_value_info("shape", TensorProto.INT64, [2])
    nodes = [
        helper.make_node("Add", ["x", "y"], ["sum"], name="add"),
        helper.make_node("ReduceSum", ["sum"], ["total"], name="reduce", keepdims=0),
        helper.make_node("Shape", ["x"], ["shape"], name="shape_of_x"),
    ]
    graph = helper.make_graph(nodes, "add", [x, y], [s, t, n])
    m = helper.make_model(
        graph,
        producer_name="onnxtune-testdata",
        opset_imports=[helper.make_opsetid("", 13)],
    )
    m.ir_version = 7
    onnx.checker.check_model(m)
    return m


def floats(a):
    # float(np.float32) is exact in a double, and JSON keeps doubles exactly.
    return [float(v) for v in a.reshape(-1)]


def main():
    rng = np.random.default_rng(20240601)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    y = rng.standard_normal((4, 3)).astype(np.float32)
    s = x + y
    total = np.sum(s, dtype=np.float32)
    with open(os.path.join(HERE, "add.onnx"), "wb") as f:
        f.write(model().SerializeToString())
    fixture = {
        "inputs": {
            "x": {"shape": list(x.shape), "data": floats(x)},
            "y": {"shape": list(y.shape), "data": floats(y)},
        },
        "outputs": [
            {"name": "sum", "shape": list(s.shape), "data": floats(s)},
            {"name": "total", "shape": [], "data": [float(total)]},
            {"name": "shape", "shape": [2], "data": [int(v) for v in x.shape]},
        ],
    }
    with open(os.path.join(HERE, "add.json"), "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
