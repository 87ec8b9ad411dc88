"""Writes the models with ONNX local functions that graph/function_test.go,
graph/ops/function_test.go and export/function_test.go read:

functions.onnx, built with onnx.helper:
  - Dense (domain local.layers), called twice from the main graph, calls
    ScaledLeaky (domain local.act); Dense imports ai.onnx at version 17,
    the model at 18 (ONNX allows it when the ops it uses, Gemm, are the
    same in both; ONNX Runtime wants the model to import local.act too);
  - ScaledLeaky's LeakyRelu takes alpha by reference (ref_attr_name) from
    ScaledLeaky's attribute alpha, whose default is 0.5 (attribute_proto);
    Dense passes its own attribute slope on by reference: the first call
    gives slope=0.1, the second none, so the default applies there;
  - Clamp is called with its optional input Lo omitted;
  - Head reads an anonymized weight ("onnx::Gemm_9", stored [in, out]) in a
    Gemm named "/head/Gemm".

functions_torch.onnx, exported by PyTorch's TorchScript exporter with
export_modules_as_functions={Block}: each Block is a call of a local
function whose MatMul reads an anonymized, transposed weight
("onnx::MatMul_18"); functions_torch.state_dict.json holds the model's
state_dict (names, shapes, values), the reference for the parameter table,
and the state_dict after two steps of torch.optim.SGD (lr 0.1) on the loss
mean(output**2) for the input x it also holds, the reference for training.

No expected outputs are stored: the tests run ONNX Runtime on the same
files at test time.

    scripts/reference-tools.sh   # or: python3 -m venv .venv && .venv/bin/pip install onnx torch
    .venv/bin/python graph/testdata/make_functions.py

Needs onnx >= 1.13 (attribute_proto of FunctionProto) and, for the second
file, torch with the TorchScript exporter (dynamo=False); written with
onnx 1.23.2 and torch 2.14.1.
"""
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(12)


def ref_attr(name, ref, typ):
    """An attribute that takes its value from the enclosing function's."""
    a = onnx.AttributeProto()
    a.name = name
    a.ref_attr_name = ref
    a.type = typ
    return a


def helper_model():
    leaky = helper.make_node("LeakyRelu", ["X"], ["Y"], name="leaky")
    leaky.attribute.append(ref_attr("alpha", "alpha", onnx.AttributeProto.FLOAT))
    scaled = helper.make_function(
        "local.act", "ScaledLeaky", ["X"], ["Y"], [leaky],
        opset_imports=[helper.make_opsetid("", 18)],
        attribute_protos=[helper.make_attribute("alpha", 0.5)])

    act = helper.make_node("ScaledLeaky", ["H"], ["Y"], name="act", domain="local.act")
    act.attribute.append(ref_attr("alpha", "slope", onnx.AttributeProto.FLOAT))
    dense = helper.make_function(
        "local.layers", "Dense", ["X", "W", "B"], ["Y"],
        [helper.make_node("Gemm", ["X", "W", "B"], ["H"], name="/dense/Gemm", transB=1), act],
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("local.act", 1)],
        attributes=["slope"],
        value_info=[helper.make_tensor_value_info("H", TensorProto.FLOAT, None)])

    clamp = helper.make_function(
        "local.layers", "Clamp", ["X", "Lo", "Hi"], ["Y"],
        [helper.make_node("Clip", ["X", "Lo", "Hi"], ["Y"], name="clip")],
        opset_imports=[helper.make_opsetid("", 18)])

    head = helper.make_function(
        "local.layers", "Head", ["X", "W", "B"], ["Y"],
        [helper.make_node("Gemm", ["X", "W", "B"], ["Y"], name="/head/Gemm")],
        opset_imports=[helper.make_opsetid("", 18)])

    def init(name, *shape):
        return numpy_helper.from_array(rng.normal(0, 0.5, shape).astype(np.float32), name)

    inits = [init("layer.0.weight", 8, 6), init("layer.0.bias", 8),
             init("layer.1.weight", 8, 8), init("layer.1.bias", 8),
             init("onnx::Gemm_9", 8, 3), init("head.bias", 3)]
    nodes = [
        helper.make_node("Dense", ["x", "layer.0.weight", "layer.0.bias"], ["h1"],
                         name="/layer.0/Dense", domain="local.layers", slope=0.1),
        helper.make_node("Dense", ["h1", "layer.1.weight", "layer.1.bias"], ["h2"],
                         name="/layer.1/Dense", domain="local.layers"),
        helper.make_node("Constant", [], ["hi"], name="/Constant",
                         value=numpy_helper.from_array(np.array(1.5, np.float32))),
        helper.make_node("Clamp", ["h2", "", "hi"], ["c"],
                         name="/clamp/Clamp", domain="local.layers"),
        helper.make_node("Head", ["c", "onnx::Gemm_9", "head.bias"], ["logits"],
                         name="/head/Head", domain="local.layers"),
    ]
    g = helper.make_graph(
        nodes, "functions",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 6])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 3]),
         helper.make_tensor_value_info("c", TensorProto.FLOAT, ["batch", 8])],
        inits)
    m = helper.make_model(
        g, functions=[dense, scaled, clamp, head], producer_name="make_functions.py",
        opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("local.layers", 1),
                       helper.make_opsetid("local.act", 1)])
    m.ir_version = 9
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, os.path.join(HERE, "functions.onnx"))


def torch_model():
    import torch
    import torch.nn as nn

    class Block(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.fc = nn.Linear(n, n)
            self.act = nn.ReLU()

        def forward(self, x):
            return self.act(self.fc(x))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.b1 = Block(4)
            self.b2 = Block(4)
            self.head = nn.Linear(4, 3)

        def forward(self, x):
            return self.head(self.b2(self.b1(x)))

    torch.manual_seed(3)
    net = Net().eval()
    path = os.path.join(HERE, "functions_torch.onnx")
    torch.onnx.export(net, (torch.randn(2, 5, 4),), path, dynamo=False, opset_version=18,
                      export_modules_as_functions={Block})
    m = onnx.load(path)
    assert m.functions, "the exporter wrote no local function"

    def table(state):
        return {k: {"shape": list(v.shape), "values": v.flatten().tolist()} for k, v in state.items()}

    before = table(net.state_dict())
    x = torch.randn(2, 5, 4)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        loss = (net(x) ** 2).mean()
        loss.backward()
        opt.step()
    out = {"torch": torch.__version__, "state_dict": before,
           "sgd": {"lr": 0.1, "steps": 2, "loss": "mean(output**2)",
                   "x": {"shape": list(x.shape), "values": x.flatten().tolist()},
                   "state_dict": table(net.state_dict())}}
    with open(os.path.join(HERE, "functions_torch.state_dict.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    helper_model()
    torch_model()
