"""Writes the MobileNetV2 fixture of the grouped-convolution benchmark.

torchvision's mobilenet_v2 (weights=None, seed 7, 1000 classes) with BatchNorm statistics from two
train-mode passes on random 3x64x64 data, exported at 1x3x64x64 with a dynamic batch for fine-tuning:
training=TrainingMode.PRESERVE, do_constant_folding=False (the TorchScript exporter), opset 13.

    /work/main/.venv/bin/python tools/bench/mobilenet_fixture.py [DIR]   # default .cache/bench

train's BenchmarkTrainStep_mobilenetv2_b16_64px reads DIR/mobilenet_v2_64px_preserve.onnx.
"""
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
    m = tvm.mobilenet_v2(weights=None)
    g = torch.Generator().manual_seed(8)
    m.train()
    with torch.no_grad():
        for _ in range(2):
            m(torch.randn((8, 3, 64, 64), generator=g))
    m.eval()
    path = os.path.join(out, "mobilenet_v2_64px_preserve.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(m, (torch.randn((1, 3, 64, 64), generator=g),), path + ".tmp", dynamo=False,
                          training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13)
    onnx.checker.check_model(onnx.load(path + ".tmp"))
    os.replace(path + ".tmp", path)
    print(path)


if __name__ == "__main__":
    main()
