#!/usr/bin/python3
"""Checks nnsweep's closed-form counts against PyTorch's modules on random architectures.

For each of --specs random CNNs (conv2d, depthwise_conv2d, separable_conv2d with random kernels,
strides, paddings, depth multipliers and biases, batch_norm with or without center and scale, the
activation layer, pooling, flatten or global average or max pooling, dense layers; seeded), it
writes the spec, asks `nnsweep params SPEC --format json` for every point's per-layer parameters,
MACs and output shapes, builds the same layers from torch.nn modules (depthwise: nn.Conv2d with
groups = in_channels; separable: that without bias, then a 1×1 nn.Conv2d; batch_norm:
nn.BatchNorm2d, whose running mean and variance count as Keras counts its non-trainable weights),
and compares, layer by layer: the parameters (sum of numel), the output shape (a forward pass of
zeros) and the MACs (output pixels × weight numel for convolutions, weight numel for dense layers,
one per output value for batch_norm, none for activations and pooling). Exits 1 on any difference.

Usage: bench/counts.py [--specs 50] [--seed 1] [--nnsweep PATH]   (builds nnsweep when no PATH)
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def same_pad(k, s, n):
    out = (n + s - 1) // s
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def random_spec(rng):
    """A random valid CNN over n as YAML, and its layers as dicts."""
    layers, size = [], 28
    for _ in range(rng.randint(1, 4)):
        if size < 3:
            break
        kind = rng.choice(["conv2d", "depthwise_conv2d", "separable_conv2d"])
        k = rng.randint(1, 3)
        l = {"kind": kind, "kernel": k, "stride": rng.randint(1, 2), "padding": rng.choice(["valid", "same"]),
             "use_bias": rng.random() < 0.75}
        if kind != "depthwise_conv2d":
            l["filters"] = rng.choice(["n", "2n", "n+1", "3"])
        if kind != "conv2d":
            l["depth_multiplier"] = rng.randint(1, 3)
        layers.append(l)
        s = l["stride"]
        size = (size + s - 1) // s if l["padding"] == "same" else (size - k) // s + 1
        if rng.random() < 0.4:
            layers.append({"kind": "batch_norm", "center": rng.random() < 0.8, "scale": rng.random() < 0.8})
        if rng.random() < 0.3:
            layers.append({"kind": "activation", "activation": rng.choice(["relu", "swish", "leaky_relu"])})
        if rng.random() < 0.3 and size >= 2:
            layers.append({"kind": "maxpool2d", "pool": 2})
            size //= 2
    layers.append({"kind": rng.choice(["flatten", "global_avgpool2d", "global_maxpool2d"])})
    layers += [{"kind": "dense", "units": "n", "use_bias": True}, {"kind": "dense", "units": "10", "use_bias": True}]
    lines = []
    for l in layers:
        body = {k: v for k, v in l.items() if k != "kind"}
        lines.append("    - %s: {%s}" % (l["kind"], ", ".join(f"{k}: {str(v).lower() if isinstance(v, bool) else v}" for k, v in body.items())))
    src = "name: random\ndataset: mnist\ntarget: {min: 0.9}\nsweep: {n: [1, 2, 5]}\nmodel:\n  layers:\n" + "\n".join(lines) + "\n"
    return src, layers


def width(expr, n):
    """The value of a width written as random_spec writes them ("n", "2n", "n+1", "3") at n."""
    return eval(expr.replace("2n", "2*n"), {"n": n})


def torch_layers(layers, n):
    """Per nnsweep layer: its modules, or None for flatten."""
    c, mods = 1, []
    for l in layers:
        kind = l["kind"]
        if kind in ("conv2d", "depthwise_conv2d", "separable_conv2d"):
            k, s = l["kernel"], l["stride"]
            seq = []
            if kind == "conv2d":
                f = width(l["filters"], n)
                seq.append(nn.Conv2d(c, f, k, stride=s, bias=l["use_bias"]))
            else:
                m = l["depth_multiplier"]
                seq.append(nn.Conv2d(c, c * m, k, stride=s, groups=c, bias=l["use_bias"] and kind == "depthwise_conv2d"))
                f = c * m
                if kind == "separable_conv2d":
                    f = width(l["filters"], n)
                    seq.append(nn.Conv2d(c * m, f, 1, bias=l["use_bias"]))
            mods.append((l, seq))
            c = f
        elif kind == "maxpool2d":
            mods.append((l, [nn.MaxPool2d(2)]))
        elif kind == "batch_norm":
            mods.append((l, [nn.BatchNorm2d(c)]))
        elif kind == "activation":
            mods.append((l, [{"relu": nn.ReLU(), "swish": nn.SiLU(), "leaky_relu": nn.LeakyReLU(0.2)}[l["activation"]]]))
        elif kind == "global_avgpool2d":
            mods.append((l, [nn.AdaptiveAvgPool2d(1), nn.Flatten()]))
        elif kind == "global_maxpool2d":
            mods.append((l, [nn.AdaptiveMaxPool2d(1), nn.Flatten()]))
        elif kind == "flatten":
            mods.append((l, [nn.Flatten()]))
        elif kind == "dense":
            mods.append((l, None))  # built once the input size is known
    return mods


def check(layers, point, n):
    x = torch.zeros(1, 1, 28, 28)
    bad = []
    for (l, seq), got in zip(torch_layers(layers, n), point["layers"]):
        if seq is None:
            seq = [nn.Linear(x.shape[1], width(l["units"], n), bias=l["use_bias"])]
        params = macs = 0
        for mod in seq:
            if l["kind"] in ("conv2d", "depthwise_conv2d", "separable_conv2d") and mod.kernel_size != (1, 1) and l["padding"] == "same":
                k, s = l["kernel"], l["stride"]
                top, bottom = same_pad(k, s, x.shape[2])
                left, right = same_pad(k, s, x.shape[3])
                x = nn.functional.pad(x, (left, right, top, bottom))
            x = mod(x)
            params += sum(p.numel() for p in mod.parameters())
            if isinstance(mod, nn.Conv2d):
                macs += x.shape[2] * x.shape[3] * mod.weight.numel()
            elif isinstance(mod, nn.Linear):
                macs += mod.weight.numel()
            elif isinstance(mod, nn.BatchNorm2d):
                # γ (scale) and β (center) as the layer has them, and the running statistics,
                # which Keras counts as non-trainable parameters.
                params += (mod.running_mean.numel() + mod.running_var.numel()
                           - (0 if l["scale"] else mod.weight.numel()) - (0 if l["center"] else mod.bias.numel()))
                macs += x[0].numel()
        shape = [x.shape[2], x.shape[3], x.shape[1]] if x.dim() == 4 else [x.shape[1]]
        if (params, macs, shape) != (got["params"], got["macs"], got["output_shape"]):
            bad.append(f"{got['name']} at n={n}: nnsweep {got['params']} params, {got['macs']} MACs, {got['output_shape']}; "
                       f"PyTorch {params}, {macs}, {shape}")
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--specs", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--nnsweep")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        exe = a.nnsweep
        if not exe:
            exe = os.path.join(tmp, "nnsweep")
            subprocess.run(["go", "build", "-o", exe, "."], cwd=ROOT, check=True)
        rng = random.Random(a.seed)
        failures, layers_checked = [], 0
        for i in range(a.specs):
            src, layers = random_spec(rng)
            path = os.path.join(tmp, f"random-{i}.yaml")
            with open(path, "w") as f:
                f.write(src)
            out = subprocess.run([exe, "params", path, "--format", "json"], capture_output=True, text=True)
            if out.returncode != 0:
                failures.append(f"random-{i}: nnsweep params failed:\n{src}{out.stdout}{out.stderr}")
                continue
            for point in json.loads(out.stdout)["models"][0]["points"]:
                bad = check(layers, point, point["vars"]["n"])
                layers_checked += len(point["layers"])
                failures += [f"random-{i}: {b}\n{src}" for b in bad]
    kinds = ("conv2d, depthwise_conv2d, separable_conv2d, batch_norm, activation, maxpool2d, flatten, "
             "global_avgpool2d, global_maxpool2d, dense")
    if failures:
        print("\n".join(failures[:10]))
        print(f"counts: {len(failures)} layer(s) differ from PyTorch's modules")
        sys.exit(1)
    print(f"counts: {a.specs} random specs, {layers_checked} layers at 3 points ({kinds}): parameters, MACs and output shapes equal PyTorch's modules")


if __name__ == "__main__":
    main()
