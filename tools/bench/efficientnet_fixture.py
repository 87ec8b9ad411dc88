"""Writes the EfficientNet-B0 fixture of the MobileNet-style training benchmarks.

torchvision's efficientnet_b0 (weights=None, seed 7, 1000 classes) with BatchNorm statistics from two
train-mode passes on random 3x64x64 data, exported at 1x3x64x64 with a dynamic batch for fine-tuning:
training=TrainingMode.PRESERVE, do_constant_folding=False (the TorchScript exporter), opset 13. At
opset 13 (and every opset this exporter writes) SiLU becomes Sigmoid then Mul; squeeze-excite is
GlobalAveragePool, Conv, SiLU, Conv, Sigmoid and a broadcasting Mul. Dropout and StochasticDepth are
identities in eval mode and leave no node.

    /work/main/.venv/bin/python tools/bench/efficientnet_fixture.py [DIR]   # default .cache/bench

train's BenchmarkTrainStep_efficientnetb0_b16_64px reads DIR/efficientnet_b0_64px_preserve.onnx.
"""
import collections
import os
import sys
import warnings

import onnx
import torch
import torchvision.models as tvm


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(".cache", "bench")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(7)
    m = tvm.efficientnet_b0(weights=None)
    g = torch.Generator().manual_seed(8)
    m.train()
    with torch.no_grad():
        for _ in range(2):
            m(torch.randn((8, 3, 64, 64), generator=g))
    m.eval()
    path = os.path.join(out, "efficientnet_b0_64px_preserve.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(m, (torch.randn((1, 3, 64, 64), generator=g),), path + ".tmp", dynamo=False,
                          training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13)
    proto = onnx.load(path + ".tmp")
    onnx.checker.check_model(proto)
    os.replace(path + ".tmp", path)
    ops = collections.Counter(n.op_type for n in proto.graph.node)
    print(path, dict(sorted(ops.items())))


if __name__ == "__main__":
    main()
