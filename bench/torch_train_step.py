"""PyTorch peer for bench/train-step: the zoo models of SPEC.md §1, one SGD-momentum step.

Prints one JSON line per model: {"model", "batch", "median_s", "steps"}.
Run with Debian's python3-torch: /usr/bin/python3 bench/torch_train_step.py [--threads 2]
"""
import argparse, json, statistics, time
import torch
import torch.nn as nn
import torch.nn.functional as F


def lenet5(c):
    return nn.Sequential(
        nn.Conv2d(c, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(16 * 4 * 4, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def vgg9(c, hw):
    layers, cin = [], c
    for v in [64, 64, 'M', 128, 128, 'M', 256, 256, 'M']:
        if v == 'M':
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(cin, v, 3, padding=1, bias=False), nn.BatchNorm2d(v), nn.ReLU()]
            cin = v
    s = hw // 8
    layers += [nn.Flatten(), nn.Linear(256 * s * s, 512, bias=False), nn.BatchNorm1d(512), nn.ReLU(),
               nn.Linear(512, 512, bias=False), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, 10)]
    return nn.Sequential(*layers)


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False); self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False); self.b2 = nn.BatchNorm2d(cout)
        self.sc = None
        if stride != 1 or cin != cout:
            self.sc = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        return F.relu(y + (x if self.sc is None else self.sc(x)))


def resnet20(c):
    layers = [nn.Conv2d(c, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    cin = 16
    for i, w in enumerate([16, 32, 64]):
        for j in range(3):
            layers.append(Block(cin, w, 2 if (i > 0 and j == 0) else 1)); cin = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    return nn.Sequential(*layers)


def bn_relu6(c):
    return [nn.BatchNorm2d(c), nn.ReLU6()]


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, t, stride):
        super().__init__()
        layers = []
        if t != 1:
            layers += [nn.Conv2d(cin, cin * t, 1, bias=False)] + bn_relu6(cin * t)
        h = cin * t
        # 'same' padding as tfjs: stride-2 3x3 windows pad one pixel after (PyTorch pads both sides; same cost).
        layers += [nn.Conv2d(h, h, 3, stride, 1, groups=h, bias=False)] + bn_relu6(h)
        layers += [nn.Conv2d(h, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.body = nn.Sequential(*layers)
        self.res = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.res else self.body(x)


def mobilenet(c):
    """src/models/mobilenet.ts at width 1: the stem, five stages of inverted residuals, a 1x1 head, GAP, FC."""
    layers = [nn.Conv2d(c, 32, 3, padding=1, bias=False)] + bn_relu6(32)
    cin = 32
    for t, cout, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 2, 2), (6, 64, 2, 2), (6, 96, 1, 1)]:
        for b in range(n):
            layers.append(InvertedResidual(cin, cout, t, s if b == 0 else 1))
            cin = cout
    layers += [nn.Conv2d(cin, 320, 1, bias=False)] + bn_relu6(320) + [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(320, 10)]
    return nn.Sequential(*layers)


def bench(name, model, shape, warmup, steps):
    x = torch.randn(*shape)  # NCHW
    y = torch.randint(0, 10, (shape[0],))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    model.train()
    times = []
    for i in range(warmup + steps):
        t = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if i >= warmup:
            times.append(time.perf_counter() - t)
    return {"model": name, "batch": shape[0], "median_s": statistics.median(times), "steps": steps}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--models", default="lenet5,resnet20,vgg9")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfg = {"lenet5": (lambda: lenet5(1), (128, 1, 28, 28)),
           "resnet20": (lambda: resnet20(3), (128, 3, 32, 32)),
           "vgg9": (lambda: vgg9(3, 32), (64, 3, 32, 32)),
           "mobilenet": (lambda: mobilenet(1), (128, 1, 28, 28))}
    for name in a.models.split(","):
        make, shape = cfg[name]
        r = bench(name, make(), shape, 3, a.steps)
        r["torch"] = torch.__version__
        r["threads"] = a.threads
        print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
