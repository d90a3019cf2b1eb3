#!/usr/bin/env python3
"""The ONNX import fixtures: small float CNNs built in PyTorch, exported with torch.onnx.export at
several opsets, with PyTorch's logits on fixed random inputs (test/import/onnx-import.test.ts reads
them and checks lowbit's imported model against those logits).

Run with Debian's python3-torch (scripts/install.sh --bench installs it):
    /usr/bin/python3 scripts/make-onnx-fixtures.py
It rewrites test/fixtures/onnx/ (a few KB per model); the output is deterministic for one torch
version, and the committed files say which one made them.
"""
import base64
import json
import os
import sys

import torch
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "onnx")
OPSETS = (11, 13, 17)


class Plain(nn.Module):
    """Conv, BN, ReLU, max and average pooling, a stride-2 conv padded like PyTorch (not like 'same'), Flatten, Gemm."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.AvgPool2d(2),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(16 * 2 * 2, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 10))

    def forward(self, x):
        return self.head(self.features(x))


class Residual(nn.Module):
    """A residual Add, a channel Concat, ReLU6 (Clip), global average pooling, view(n, -1) (Shape/Gather/Reshape), MatMul + Add."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.a = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.b = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8))
        self.side = nn.Conv2d(8, 8, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.w = nn.Parameter(torch.randn(16, 12) * 0.3)
        self.bias = nn.Parameter(torch.randn(12) * 0.1)
        self.fc = nn.Linear(12, 10)

    def forward(self, x):
        x = self.stem(x)
        x = torch.relu(self.b(self.a(x)) + x)
        x = torch.cat([x, self.side(x)], 1)
        x = nn.functional.relu6(x)
        x = self.pool(x)
        x = x.view(x.size(0), -1)
        x = torch.relu(x @ self.w + self.bias)
        return self.fc(x)


class Mobile(nn.Module):
    """A MobileNetV2-style inverted residual: stride-2 stem, expansion, depthwise 3x3 (groups = channels), projection, Add."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU6())
        self.block = nn.Sequential(
            nn.Conv2d(8, 16, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU6(),
            nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False), nn.BatchNorm2d(16), nn.ReLU6(),
            nn.Conv2d(16, 8, 1, bias=False), nn.BatchNorm2d(8),
        )
        self.down = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1, groups=8, bias=False), nn.BatchNorm2d(16), nn.ReLU6())
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.stem(x)
        x = x + self.block(x)
        x = self.down(x)
        x = x.mean([2, 3])
        return self.fc(x)


class Dilated(nn.Module):
    """A dilated conv (stride 1), a 'same'-padded 5x5 conv, Flatten."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 4, 3, dilation=2, padding=2), nn.ReLU(), nn.Conv2d(4, 4, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.fc = nn.Linear(4 * 5 * 5, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.body(x), 1))


class Grouped(nn.Module):
    """Grouped convolutions (ResNeXt/ShuffleNet style): groups=2 over 4 channels, groups=4 over 8 (1x1), a global pool."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 8, 3, padding=1, groups=2), nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, 8, 1, groups=4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        )
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.body(x), 1))


class Lenet(nn.Module):
    """A LeNet-5 for 28x28 grey images (MNIST's shape), which the CLI test takes through quantize, pack, run and export."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(256, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


MODELS = {"plain": (Plain, (3, 16, 16)), "residual": (Residual, (1, 12, 12)), "mobile": (Mobile, (3, 16, 16)), "dilated": (Dilated, (1, 10, 10)), "lenet": (Lenet, (1, 28, 28)), "grouped": (Grouped, (3, 8, 8))}
# The larger lenet is there for the CLI test: one opset, no -bn file.
ONE_OPSET = {"lenet"}


def randomize_bn(model):
    # Running statistics and affine parameters away from the identity, so that folding them is tested.
    g = torch.Generator().manual_seed(7)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.2)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)


def b64(t):
    return base64.b64encode(t.detach().contiguous().numpy().astype("<f4").tobytes()).decode("ascii")


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, (cls, shape) in MODELS.items():
        torch.manual_seed(1)
        model = cls()
        randomize_bn(model)
        model.eval()
        x = torch.randn(3, *shape, generator=torch.Generator().manual_seed(2))
        with torch.no_grad():
            y = model(x)
        opsets = (13,) if name in ONE_OPSET else OPSETS
        for opset in opsets:
            path = os.path.join(OUT, f"{name}-op{opset}.onnx")
            torch.onnx.export(model, x, path, opset_version=opset, input_names=["input"], output_names=["logits"], do_constant_folding=True)
        # An export that keeps BatchNormalization nodes (the default above folds them into the convs).
        if name not in ONE_OPSET:
            torch.onnx.export(
                model, x, os.path.join(OUT, f"{name}-bn.onnx"), opset_version=15, input_names=["input"], output_names=["logits"],
                training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False,
            )
        meta = {
            "model": name,
            "doc": cls.__doc__,
            "torch": torch.__version__,
            "opsets": list(opsets),
            "bn": "the -bn file keeps BatchNormalization (opset 15)",
            "inputShape": list(shape),
            "batch": x.shape[0],
            "input": b64(x),
            "logits": b64(y),
        }
        with open(os.path.join(OUT, f"{name}.json"), "w") as f:
            json.dump(meta, f, indent=1)
            f.write("\n")
        print(f"{name}: {len(opsets)} opsets, logits {tuple(y.shape)}", file=sys.stderr)


if __name__ == "__main__":
    main()
