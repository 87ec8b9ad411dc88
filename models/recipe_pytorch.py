"""The brief's fine-tuning recipe written in PyTorch, the yardstick of train/example_test.go's Example.

PyTorch's classic recipe: load a pretrained state_dict, keep the keys (of the same shape) the new model has,
update and load it; then train with two parameter groups, the backbone at lr 0.01 and the new head at ten
times that (SGD, momentum 0.9, weight decay 1e-4); export to ONNX. Example in train/example_test.go does the
same with onnxtune on the same models (mnist_lenet_0to4.onnx's weights into a 10-class LeNet), and
TestRecipeLineCount (train/recipe_lines_test.go) checks that its lines between the "recipe begins" and
"recipe ends" markers, error handling aside, are at most twice this file's.

Runs with the reference environment (scripts/reference-tools.sh), in a few seconds:

    .venv/bin/python models/recipe_pytorch.py

It takes the pretrained weights from mnist_lenet_0to4.onnx's initializers (saved with torch.save, as a
PyTorch user holds them), trains on mnist_0to4_test.npz's 200 digits, and writes the result to a temporary
folder. Nothing it writes is committed.
"""
import os
import sys
import tempfile

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper
from torch.utils.data import DataLoader, TensorDataset

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_models import MnistLeNet  # noqa: E402  (the architecture both LeNet files were exported from)


def recipe(pretrained_path, data_path, out_path):
    # recipe begins
    pretrained = torch.load(pretrained_path)
    model = MnistLeNet(num_classes=10)
    new_state = model.state_dict()
    pretrained = {k: v for k, v in pretrained.items() if k in new_state and v.shape == new_state[k].shape}
    new_state.update(pretrained)
    model.load_state_dict(new_state)
    head = [p for n, p in model.named_parameters() if n.startswith("fc3.")]
    backbone = [p for n, p in model.named_parameters() if not n.startswith("fc3.")]
    opt = torch.optim.SGD([{"params": backbone}, {"params": head, "lr": 0.1}], lr=0.01, momentum=0.9, weight_decay=1e-4)
    data = np.load(data_path)
    loader = DataLoader(TensorDataset(torch.from_numpy(data["x"]), torch.from_numpy(data["y"])), batch_size=20, shuffle=True)
    for epoch in range(2):
        for x, y in loader:
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
    model.eval()
    torch.onnx.export(model, (x[:1],), out_path, input_names=["input"], dynamic_axes={"input": {0: "batch"}})
    # recipe ends
    return model


def main():
    torch.manual_seed(0)
    pre = onnx.load(os.path.join(HERE, "mnist_lenet_0to4.onnx"))
    with tempfile.TemporaryDirectory() as tmp:
        pt = os.path.join(tmp, "pretrained.pt")
        torch.save({t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in pre.graph.initializer}, pt)
        model = recipe(pt, os.path.join(HERE, "mnist_0to4_test.npz"), os.path.join(tmp, "tuned.onnx"))
        print("trained; wrote", os.path.getsize(os.path.join(tmp, "tuned.onnx")), "bytes;",
              "fc3.weight", tuple(model.fc3.weight.shape))


if __name__ == "__main__":
    main()
