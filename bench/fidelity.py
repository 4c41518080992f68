#!/usr/bin/python3
"""Replays nnsweep's recorded training steps in PyTorch and reports where the two part.

nnsweep writes a training's initial weights and its first K steps with
`nnsweep run SPEC --dump-steps DIR` (see pipeline/dump.go): DIR/<model>-<point>-seed<S>/ holds
meta.json (the layers at the point, the optimizer, the tensors' names and shapes), init.npz and
step-NNNN.npz (the batch as the graph saw it, NCHW; its dropout masks; the loss; the gradients;
the weights after the update). This script builds the same model from torch.nn.functional
operations with Keras's semantics (valid/same padding split as Keras does, max pooling that never
picks a padded cell, average pooling over the real cells, batch_norm with the batch's statistics
in training and the moving ones in evaluation, its moving statistics updated by Keras's rule with
the biased variance), loads exactly those weights
(nnsweep's layouts are PyTorch's but for dense kernels, stored [in, units]), replays exactly those
batches and masks, and steps the optimizer with Keras's update rules, which nnsweep implements:

  sgd       w -= lr·g;  momentum: v = m·v − lr·g, w += v (nesterov: w += m·v − lr·g)
  rmsprop   a = ρa + (1−ρ)g²;  w -= lr·g / (√a + ε)
  adam      m += (g−m)(1−β1), v += (g²−v)(1−β2);  w -= lr·√(1−β2ᵗ)/(1−β1ᵗ) · m / (√v + ε)
  adadelta  a = ρa + (1−ρ)g²;  d = √(s+ε)/√(a+ε) · g;  s = ρs + (1−ρ)d²;  w -= lr·d
  adamw     adam with weight decay

With a weight decay wd, every weight first decays as Keras 3 does, w -= w·wd·lr, with the step's
learning rate. With a schedule (meta.json's schedule), the learning rate of each step is worked
out here from the schedule's closed form (onecycle by torch.optim.lr_scheduler.OneCycleLR) and
compared with the one nnsweep used (lr in each step file). With label smoothing ε the loss is the
cross-entropy against y·(1−ε) + ε/classes. Augmented batches need nothing: the dumped images
are the transformed ones the graph saw.

It runs free: PyTorch's weights evolve on their own from the initial ones, and after every step
the loss, every gradient and every weight are compared with nnsweep's. A difference is relative
to the tensor's largest magnitude (max|a−b| / max|b|), so float32 reassociation in tensors with
values near zero does not count as a parting. The first step and tensor over the tolerance are
printed with the size of the difference.

Usage:
  bench/fidelity.py DUMP_DIR...                 compare, print one table row per training
  bench/fidelity.py DUMP_DIR --steps 1 --fixture FILE.npz
                                                also write PyTorch's loss, gradients and weights
                                                after each step as a fixture for Go tests
  --eval                                        evaluate the final weights on MNIST's test set in PyTorch
                                                and compare the accuracy with nnsweep's
  --replay                                      train the whole run again in PyTorch from the same initial
                                                weights in nnsweep's order of examples (order.npz), and
                                                compare the test accuracies
  --float64                                     run PyTorch in float64 (which side is closer to exact)
"""

import argparse
import glob
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def load_npz(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


class Model:
    """nnsweep's layers as torch functional calls over a flat list of weight tensors."""

    def __init__(self, meta, weights, dtype):
        self.meta = meta
        self.layers = meta["layers"]
        self.shapes = [t["shape"] for t in meta["tensors"]]
        self.names = [t["name"] for t in meta["tensors"]]
        # Tensors marked non_trainable (batch_norm's moving mean and variance) get no gradient and
        # no optimizer: the forward pass of a training step updates them, as Keras does.
        self.trainable = [not t.get("non_trainable", False) for t in meta["tensors"]]
        self.w = [torch.tensor(np.asarray(a, dtype=np.float64).reshape(s), dtype=dtype).requires_grad_(tr)
                  for a, s, tr in zip(weights, self.shapes, self.trainable)]
        self.params = [w for w, tr in zip(self.w, self.trainable) if tr]

    def grads(self, loss):
        """The gradients of loss, one per tensor in meta's order: None for a non-trainable one."""
        gs = iter(torch.autograd.grad(loss, self.params))
        return [next(gs) if tr else None for tr in self.trainable]

    def forward(self, x, masks, probe=None):
        """Log-probabilities of batch x; probe, a dict, collects near ties (see near_ties)."""
        c, h, w = self.meta["input_nchw"]
        x = x.reshape(-1, c, h, w)
        self.t, self.m = 0, 0  # the next weight tensor and dropout mask
        x = self.run(self.layers, x, masks, probe, True)
        return F.log_softmax(x, dim=1)

    def take(self):
        self.t += 1
        return self.w[self.t - 1]

    def run(self, layers, x, masks, probe, outer):
        """layers applied to x; outer says they are the model's own, whose last activation is
        left to the log-softmax."""
        last = len(layers) - 1
        for i, l in enumerate(layers):
            kind = l["kind"]
            act = "linear" if outer and i == last else l.get("activation", "linear")
            if kind == "dense":
                x = x @ self.take()
                if l.get("use_bias"):
                    x = x + self.take().reshape(1, -1)
                if probe is not None and act in ("relu", "leaky_relu"):
                    probe["relu"] = probe.get("relu", 0) + near_zero(x)
                x = activate(x, act)
            elif kind == "conv2d":
                k = self.take()
                kh, kw = l["window"]
                sh, sw = l["stride"]
                if l.get("padding") == "same":
                    x = F.pad(x, same_pads(x.shape[2], x.shape[3], kh, kw, sh, sw))
                x = F.conv2d(x, k, stride=(sh, sw))
                if l.get("use_bias"):
                    x = x + self.take().reshape(1, -1, 1, 1)
                if probe is not None and act in ("relu", "leaky_relu"):
                    probe["relu"] = probe.get("relu", 0) + near_zero(x)
                x = activate(x, act)
            elif kind in ("maxpool2d", "avgpool2d"):
                ph, pw = l["window"]
                sh, sw = l["stride"]
                pads = (0, 0, 0, 0)
                if l.get("padding") == "same":
                    pads = same_pads(x.shape[2], x.shape[3], ph, pw, sh, sw)
                if kind == "maxpool2d":
                    xp = F.pad(x, pads, value=-math.inf)
                    if probe is not None:
                        probe["pool"] = probe.get("pool", 0) + near_tied_windows(xp, (ph, pw), (sh, sw))
                    x = F.max_pool2d(xp, (ph, pw), (sh, sw))
                else:
                    ones = torch.ones_like(x[:1, :1])
                    s = F.avg_pool2d(F.pad(x, pads), (ph, pw), (sh, sw))
                    cnt = F.avg_pool2d(F.pad(ones, pads), (ph, pw), (sh, sw))
                    x = s / cnt
            elif kind == "flatten":
                x = x.reshape(x.shape[0], -1)  # NCHW: features in CHW order, as nnsweep's
            elif kind == "dropout":
                if masks is not None:  # training; evaluation keeps every value
                    x = x * masks[self.m].reshape(x.shape)
                    self.m += 1
            elif kind == "activation":  # Keras's Activation layer
                if probe is not None and act in ("relu", "leaky_relu"):
                    probe["relu"] = probe.get("relu", 0) + near_zero(x)
                x = activate(x, act)
            elif kind == "global_avgpool2d":
                x = x.mean(dim=(2, 3))
            elif kind == "global_maxpool2d":
                # torch.max along one axis sends the gradient to the index it returns, the first
                # maximum, as nnsweep's; amax would share it among ties.
                if probe is not None:
                    probe["pool"] = probe.get("pool", 0) + near_tied_windows(x, tuple(x.shape[2:]), tuple(x.shape[2:]))
                x = x.reshape(x.shape[0], x.shape[1], -1).max(dim=2).values
            elif kind == "residual":  # x + block(x), the shortcut projected by a 1×1 conv (dense on vectors)
                y = self.run(l["layers"], x, masks, probe, False)
                if (l.get("settings") or {}).get("project"):
                    k, b = self.take(), self.take()
                    if x.dim() == 2:
                        x = x @ k + b.reshape(1, -1)
                    else:
                        x = F.conv2d(x, k, stride=tuple(l["stride"])) + b.reshape(1, -1, 1, 1)
                x = y + x
            elif kind in ("depthwise_conv2d", "separable_conv2d"):
                # nnsweep's depthwise kernel is [c·m, 1, kh, kw], output channel ch·m + j being
                # input channel ch's j-th kernel: PyTorch's grouped layout with groups = c.
                # separable_conv2d adds a 1×1 convolution [filters, c·m, 1, 1] and one bias.
                k = self.take()
                kh, kw = l["window"]
                sh, sw = l["stride"]
                if l.get("padding") == "same":
                    x = F.pad(x, same_pads(x.shape[2], x.shape[3], kh, kw, sh, sw))
                x = F.conv2d(x, k, stride=(sh, sw), groups=x.shape[1])
                if kind == "separable_conv2d":
                    x = F.conv2d(x, self.take())
                if l.get("use_bias"):
                    x = x + self.take().reshape(1, -1, 1, 1)
                if probe is not None and act in ("relu", "leaky_relu"):
                    probe["relu"] = probe.get("relu", 0) + near_zero(x)
                x = activate(x, act)
            elif kind == "batch_norm":
                # Keras's BatchNormalization: per channel over N, H, W (per feature over N); training
                # with the batch's mean and biased variance, then moving = moving·momentum +
                # batch·(1 − momentum), the biased variance included (PyTorch's running_var would be
                # unbiased, so F.batch_norm's update is not used); evaluation with the moving ones.
                st = l["settings"]
                gamma = beta = None
                if st["scale"]:
                    gamma = self.take()
                if st["center"]:
                    beta = self.take()
                mm, mv = self.take(), self.take()
                axes = (0, 2, 3) if x.dim() == 4 else (0,)
                shape = (1, -1, 1, 1) if x.dim() == 4 else (1, -1)
                if masks is not None:  # training
                    mean = x.mean(dim=axes)
                    var = ((x - mean.reshape(shape)) ** 2).mean(dim=axes)
                    with torch.no_grad():
                        mom = st["momentum"]
                        mm.copy_(mm * mom + mean.detach() * (1 - mom))
                        mv.copy_(mv * mom + var.detach() * (1 - mom))
                else:
                    mean, var = mm, mv
                x = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + st["epsilon"])
                if gamma is not None:
                    x = x * gamma.reshape(shape)
                if beta is not None:
                    x = x + beta.reshape(shape)
            else:
                raise SystemExit(f"fidelity: layer kind {kind!r} is not known to this script")
        return x


def same_pads(h, w, kh, kw, sh, sw):
    """Keras's same padding: total max((out−1)·stride + k − in, 0), the smaller half before."""
    def split(n, k, s):
        out = (n + s - 1) // s
        total = max((out - 1) * s + k - n, 0)
        return total // 2, total - total // 2
    top, bottom = split(h, kh, sh)
    left, right = split(w, kw, sw)
    return (left, right, top, bottom)


NEAR = 1e-6  # relative closeness at which float32 rounding can decide a comparison either way


def near_zero(x):
    """How many of x are within NEAR·max|x| of 0 without being 0: ReLU's decision there depends on
    rounding (exact zeros, such as a blank background's, are exact in both implementations)."""
    scale = x.abs().max().item() or 1.0
    return int(((x.abs() < NEAR * scale) & (x != 0)).sum().item())


def near_tied_windows(x, window, stride):
    """How many max-pooling windows of x have their two largest values within NEAR of each other
    without being equal: which cell wins, and so gets the gradient, depends on rounding."""
    n, c = x.shape[:2]
    cols = F.unfold(x, window, stride=stride).reshape(n, c, window[0] * window[1], -1)
    top = cols.topk(2, dim=2).values
    a, b = top[:, :, 0], top[:, :, 1]
    close = (a - b <= NEAR * a.abs().clamp(min=1e-30)) & (a != b) & torch.isfinite(b)
    return int(close.sum().item())


def near_ties(meta, weights, s):
    """Near ties of step s's batch from weights (nnsweep's before the step), in float64."""
    model = Model(meta, weights, torch.float64)
    masks = [torch.tensor(s[k], dtype=torch.float64) for k in sorted(k for k in s if k.startswith("mask_"))]
    probe = {}
    with torch.no_grad():
        model.forward(torch.tensor(s["images"], dtype=torch.float64), masks, probe)
    return probe


LEAKY_SLOPE = 0.2  # spec.LeakySlope


def activate(x, a):
    if a == "relu":
        return F.relu(x)
    if a == "sigmoid":
        return torch.sigmoid(x)
    if a == "tanh":
        return torch.tanh(x)
    if a == "leaky_relu":  # Keras 3's slope, 0.2 (PyTorch's default is 0.01)
        return F.leaky_relu(x, LEAKY_SLOPE)
    if a == "swish":  # x·sigmoid(x), PyTorch's silu
        return x * torch.sigmoid(x)
    if a in ("linear", "softmax", "", None):
        return x
    raise SystemExit(f"fidelity: activation {a!r} is not known to this script")


class Optimizer:
    """Keras's update rules (see the module doc), on the model's tensors in place."""

    def __init__(self, cfg, params):
        self.c, self.p, self.t = cfg, params, 0
        self.s1 = [torch.zeros_like(p) for p in params]
        self.s2 = [torch.zeros_like(p) for p in params]

    def step(self, grads, lr=None):
        c = self.c
        name = c["name"]
        if lr is None:
            lr = c["learning_rate"]
        wd = c.get("weight_decay", 0)
        self.t += 1
        with torch.no_grad():
            for w, g, a, s in zip(self.p, grads, self.s1, self.s2):
                if wd:
                    w -= w * wd * lr
                if name == "sgd" and not c.get("momentum"):
                    w -= lr * g
                elif name == "sgd":
                    mom = c["momentum"]
                    a.mul_(mom).sub_(lr * g)
                    if c.get("nesterov"):
                        w += mom * a - lr * g
                    else:
                        w += a
                elif name == "rmsprop":
                    rho, eps = c["rho"], c["epsilon"]
                    a.mul_(rho).add_((1 - rho) * g * g)
                    w -= lr * g / (torch.sqrt(a) + eps)
                elif name in ("adam", "adamw"):
                    b1, b2, eps = c["beta_1"], c["beta_2"], c["epsilon"]
                    a.add_((g - a) * (1 - b1))
                    s.add_((g * g - s) * (1 - b2))
                    alpha = lr * math.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)
                    w -= alpha * a / (torch.sqrt(s) + eps)
                elif name == "adadelta":
                    rho, eps = c["rho"], c["epsilon"]
                    a.mul_(rho).add_((1 - rho) * g * g)
                    d = torch.sqrt(s + eps) / torch.sqrt(a + eps) * g
                    s.mul_(rho).add_((1 - rho) * d * d)
                    w -= lr * d
                else:
                    raise SystemExit(f"fidelity: optimizer {name!r} is not known to this script")


class Schedule:
    """The learning rate of each step (0-based) of a schedule (spec.Schedule documents them), in
    float64, from its closed form; onecycle from PyTorch's own OneCycleLR."""

    def __init__(self, lr, sched, steps_per_epoch, epochs):
        self.lr, self.s = lr, sched or {"name": "constant"}
        total = steps_per_epoch * epochs
        steps = lambda e: int(math.floor(e * steps_per_epoch + 0.5))
        self.warmup = min(steps(self.s.get("warmup_epochs", 0)), total)
        self.length = max(total - self.warmup, 1)
        name = self.s["name"]
        if name == "step":
            self.every = max(steps(self.s["every_epochs"]), 1)
        elif name == "exponential":
            self.every = max(steps(self.s["decay_epochs"]), 1)
        elif name == "cosine":
            self.every = max(steps(self.s["decay_epochs"]), 1) if self.s.get("decay_epochs") else self.length
        elif name == "onecycle":
            p = torch.nn.Parameter(torch.zeros(1))
            o = torch.optim.SGD([p], lr=lr)
            sch = torch.optim.lr_scheduler.OneCycleLR(
                o, max_lr=lr, total_steps=self.length, pct_start=self.s["pct_start"], div_factor=self.s["div_factor"],
                final_div_factor=self.s["final_div_factor"], anneal_strategy=self.s["anneal_strategy"])
            self.cycle = []
            for _ in range(self.length):
                self.cycle.append(o.param_groups[0]["lr"])
                o.step()
                sch.step()

    def scheduled(self, k):
        s, lr = self.s, self.lr
        if s["name"] == "step":
            return lr * s["factor"] ** (k // self.every)
        if s["name"] == "exponential":
            return lr * s["decay_rate"] ** (k / self.every)
        if s["name"] == "cosine":
            a = s.get("alpha", 0)
            return lr * ((1 - a) * 0.5 * (1 + math.cos(math.pi * min(k, self.every) / self.every)) + a)
        if s["name"] == "onecycle":
            return self.cycle[min(k, self.length - 1)]
        return lr

    def at(self, step):
        if step < self.warmup:
            return self.scheduled(0) * step / self.warmup
        return self.scheduled(step - self.warmup)


def schedule_of(d, meta):
    """The training's Schedule; its steps per epoch come from the epoch orders (order.npz)."""
    if not meta.get("schedule"):
        return Schedule(meta["optimizer"]["learning_rate"], None, 1, 1)
    orders = load_npz(os.path.join(d, "order.npz"))
    n = len(orders["epoch_1"])
    return Schedule(meta["optimizer"]["learning_rate"], meta.get("schedule"), -(-n // meta["batch_size"]), meta.get("epochs", 1))


def nll(logp, y, smoothing):
    """The mean cross-entropy of log-probabilities logp against labels y, with label smoothing."""
    if not smoothing:
        return -logp[torch.arange(y.shape[0]), y].mean()
    k = logp.shape[1]
    target = torch.full_like(logp, float(np.float32(smoothing) / np.float32(k)))
    on = float((np.float32(1) - np.float32(smoothing)) + np.float32(smoothing) / np.float32(k))
    target[torch.arange(y.shape[0]), y] = on
    return -(target * logp).sum(1).mean()


def rel(a, b):
    """max|a−b| / max|b| (b the reference); 0 for two zero tensors."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    scale = np.max(np.abs(b)) if b.size else 0.0
    diff = np.max(np.abs(a - b)) if b.size else 0.0
    if scale == 0:
        return 0.0 if diff == 0 else math.inf
    return diff / scale


def compare(d, args):
    meta = json.load(open(os.path.join(d, "meta.json")))
    init = load_npz(os.path.join(d, "init.npz"))
    n = len(meta["tensors"])
    dtype = torch.float64 if args.float64 else torch.float32
    model = Model(meta, [init[f"weight_{i}"] for i in range(n)], dtype)
    opt = Optimizer(meta["optimizer"], model.params)
    sched = schedule_of(d, meta)
    smoothing = meta.get("label_smoothing", 0)
    files = sorted(glob.glob(os.path.join(d, "step-*.npz")))[: args.steps or None]
    if not files:
        raise SystemExit(f"fidelity: {d} has no step-*.npz files")
    worst = {"loss": (0.0, 0), "grad": (0.0, 0, ""), "weight": (0.0, 0, ""), "lr": (0.0, 0)}
    parted = None
    fixture = {}
    for k in range(n):
        fixture[f"init_{k}"] = init[f"weight_{k}"]
    for fi, f in enumerate(files):
        s = load_npz(f)
        step = fi + 1
        x = torch.tensor(s["images"], dtype=dtype)
        y = torch.tensor(s["labels"].astype(np.int64))
        masks = [torch.tensor(s[k], dtype=dtype) for k in sorted(k for k in s if k.startswith("mask_"))]
        logp = model.forward(x, masks)
        loss = nll(logp, y, smoothing)
        grads = model.grads(loss)
        rate = sched.at(step - 1)
        opt.step([g for g in grads if g is not None], rate)
        lr_ = abs(loss.item() - float(s["loss"][0])) / max(abs(float(s["loss"][0])), 1e-30)
        if lr_ > worst["loss"][0]:
            worst["loss"] = (lr_, step)
        checks = [("loss", lr_, "loss", args.loss_tol)]
        if "lr" in s:
            lrd = abs(rate - float(s["lr"][0])) / max(abs(rate), 1e-30)
            if lrd > worst["lr"][0]:
                worst["lr"] = (lrd, step)
            checks.append(("learning rate", lrd, "lr", 1e-6))
        for i in range(n):
            w = rel(s[f"weight_{i}"], model.w[i].detach().numpy())
            if w > worst["weight"][0]:
                worst["weight"] = (w, step, model.names[i])
            checks.append(("weight", w, model.names[i], args.weight_tol))
            if grads[i] is None:  # a non-trainable tensor: nnsweep dumps no gradient either
                if f"grad_{i}" in s:
                    raise SystemExit(f"fidelity: {f}: grad_{i} given for the non-trainable {model.names[i]}")
                continue
            g = rel(s[f"grad_{i}"], grads[i].detach().numpy())
            if g > worst["grad"][0]:
                worst["grad"] = (g, step, model.names[i])
            checks.append(("gradient", g, model.names[i], args.grad_tol))
        if args.verbose:
            top = max(checks[1:], key=lambda c: c[1])
            print(f"  step {step:4d} (epoch {int(s['epoch'][0])}, {y.shape[0]} examples): loss {lr_:.1e}, "
                  f"worst {top[0]} {top[2]} {top[1]:.1e}")
        if parted is None:
            for what, v, name, tol in checks:
                if v > tol:
                    parted = f"step {step}: {what} {name} differs by {v:.2e} relative (tolerance {tol:g})"
                    before = init if step == 1 else load_npz(files[fi - 1])
                    ties = near_ties(meta, [before[f"weight_{i}"] for i in range(n)], s)
                    if ties.get("pool") or ties.get("relu"):
                        parted += (f"; from nnsweep's weights before it, in float64, {ties.get('pool', 0)} max-pooling window(s) "
                                   f"hold two values within {NEAR:g} of each other and {ties.get('relu', 0)} ReLU input(s) lie within "
                                   f"{NEAR:g} of 0: float32 rounding decides those either way")
                    break
        if args.fixture:
            fixture[f"s{step}_images"] = s["images"]
            fixture[f"s{step}_labels"] = s["labels"]
            for k in s:
                if k.startswith("mask_"):
                    fixture[f"s{step}_{k}"] = s[k]
            fixture[f"s{step}_loss"] = np.array([loss.item()])
            if "lr" in s:
                fixture[f"s{step}_lr"] = s["lr"]
            for i in range(n):
                if grads[i] is not None:
                    fixture[f"s{step}_grad_{i}"] = grads[i].detach().numpy().astype(np.float32).ravel()
                fixture[f"s{step}_weight_{i}"] = model.w[i].detach().numpy().astype(np.float32).ravel()
    if args.fixture:
        fixture["steps"] = np.array([len(files)], dtype=np.int64)
        np.savez_compressed(args.fixture, **fixture)
        with open(os.path.splitext(args.fixture)[0] + ".json", "w") as f:
            json.dump(meta, f, indent=2)
            f.write("\n")
    return meta, len(files), worst, parted


def evaluate(d, dtype, model=None):
    """The test metrics, in PyTorch, of model (default: the training's final weights), beside
    nnsweep's (result.json)."""
    meta = json.load(open(os.path.join(d, "meta.json")))
    if not (os.path.exists(os.path.join(d, "final.npz")) and os.path.exists(os.path.join(d, "result.json"))):
        return None
    if meta.get("dataset") != "mnist":
        return None
    import peer  # bench/peer.py: the IDX readers
    x, y = peer.load(peer.DEFAULT_DATA, "t10k")
    if model is None:
        final = load_npz(os.path.join(d, "final.npz"))
        model = Model(meta, [final[f"weight_{i}"] for i in range(len(meta["tensors"]))], dtype)
    correct, loss = 0, 0.0
    with torch.no_grad():
        for lo in range(0, x.shape[0], 1000):
            logp = model.forward(x[lo:lo + 1000].to(dtype), None)
            yb = y[lo:lo + 1000]
            loss -= logp[torch.arange(yb.shape[0]), yb].sum().item()
            correct += (logp.argmax(1) == yb).sum().item()
    res = json.load(open(os.path.join(d, "result.json")))
    return {"torch_accuracy": correct / x.shape[0], "torch_loss": loss / x.shape[0],
            "nnsweep_accuracy": res["test_accuracy"], "nnsweep_loss": res["test_loss"]}


def all_layers(layers):
    """Every layer of a list, those inside residual blocks included."""
    for l in layers:
        yield l
        yield from all_layers(l.get("layers") or [])


def replay(d, dtype):
    """Trains the whole run again in PyTorch from nnsweep's initial weights, in nnsweep's order of
    examples (order.npz), and evaluates it on the test set: the accuracy each side reaches from the
    same start through the same batches. Float32 rounding makes the two runs drift apart over
    thousands of steps, so the two figures agree to about the spread of one seed's reruns, not
    exactly. Only for MNIST without a validation split or dropout (nnsweep records its masks for
    the first steps only)."""
    meta = json.load(open(os.path.join(d, "meta.json")))
    orders_path = os.path.join(d, "order.npz")
    if (meta.get("dataset") != "mnist" or meta.get("validation_split", 0) > 0 or not os.path.exists(orders_path)
            or any(l["kind"] == "dropout" for l in all_layers(meta["layers"])) or meta.get("augment")):
        return None
    import peer  # bench/peer.py: the IDX readers
    x, y = peer.load(peer.DEFAULT_DATA, "train", meta.get("limit_train", 0))
    init = load_npz(os.path.join(d, "init.npz"))
    model = Model(meta, [init[f"weight_{i}"] for i in range(len(meta["tensors"]))], dtype)
    opt = Optimizer(meta["optimizer"], model.params)
    sched = schedule_of(d, meta)
    orders = load_npz(orders_path)
    batch = meta["batch_size"]
    step = 0
    for e in range(1, len(orders) + 1):
        order = torch.from_numpy(orders[f"epoch_{e}"].astype(np.int64))
        for lo in range(0, order.shape[0], batch):
            idx = order[lo:lo + batch]
            yb = y.index_select(0, idx)
            logp = model.forward(x.index_select(0, idx).to(dtype), [])
            loss = nll(logp, yb, meta.get("label_smoothing", 0))
            opt.step(torch.autograd.grad(loss, model.params), sched.at(step))
            step += 1
    ev = evaluate(d, dtype, model)
    ev["epochs"] = len(orders)
    return ev


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dirs", nargs="+", help="dump folders (DIR/<model>-<point>-seed<S>) or their parent")
    ap.add_argument("--steps", type=int, default=0, help="compare only the first K steps (0: all dumped)")
    ap.add_argument("--float64", action="store_true", help="run PyTorch in float64")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every step's worst difference")
    ap.add_argument("--loss-tol", type=float, default=1e-4)
    ap.add_argument("--grad-tol", type=float, default=1e-3)
    ap.add_argument("--weight-tol", type=float, default=1e-3)
    ap.add_argument("--fixture", help="write PyTorch's results as a fixture (one dump folder only)")
    ap.add_argument("--json", help="write the rows as JSON to this file")
    ap.add_argument("--replay", action="store_true",
                    help="also train the whole run in PyTorch from nnsweep's initial weights in nnsweep's order of examples")
    ap.add_argument("--eval", action="store_true",
                    help="also evaluate the final weights on the MNIST test set in PyTorch and compare")
    args = ap.parse_args()
    torch.set_num_threads(1)
    dirs = []
    for d in args.dirs:
        if os.path.exists(os.path.join(d, "meta.json")):
            dirs.append(d)
        else:
            dirs += sorted(os.path.dirname(m) for m in glob.glob(os.path.join(d, "*", "meta.json")))
    if not dirs:
        raise SystemExit("fidelity: no dump folder (with meta.json) found; make one with nnsweep run SPEC --dump-steps DIR")
    if args.fixture and len(dirs) != 1:
        raise SystemExit("fidelity: --fixture takes one dump folder")
    rows, bad = [], 0
    print(f"{'training':44} {'steps':>5} {'loss':>9} {'gradient (worst tensor)':>34} {'weight (worst tensor)':>34}  verdict")
    for d in dirs:
        meta, k, worst, parted = compare(d, args)
        name = os.path.basename(os.path.normpath(d))
        opt = meta["optimizer"]["name"] + ("+momentum" if meta["optimizer"].get("momentum") else "") + \
            ("+nesterov" if meta["optimizer"].get("nesterov") else "") + \
            (f"+wd {meta['optimizer']['weight_decay']:g}" if meta["optimizer"].get("weight_decay") else "") + \
            (f"+{meta['schedule']['name']}" if meta.get("schedule") else "") + \
            (f"+ls {meta['label_smoothing']:g}" if meta.get("label_smoothing") else "") + \
            ("+augment" if meta.get("augment") else "")
        g = f"{worst['grad'][0]:.1e} {worst['grad'][2]}@{worst['grad'][1]}"
        w = f"{worst['weight'][0]:.1e} {worst['weight'][2]}@{worst['weight'][1]}"
        verdict = "agree" if parted is None else "PART " + parted
        bad += parted is not None
        print(f"{name[:44]:44} {k:>5} {worst['loss'][0]:>9.1e} {g:>34} {w:>34}  {verdict}")
        ev = evaluate(d, torch.float64 if args.float64 else torch.float32) if args.eval else None
        if ev:
            print(f"{'':44} test accuracy: nnsweep {ev['nnsweep_accuracy']:.4%}, PyTorch on the same weights "
                  f"{ev['torch_accuracy']:.4%}; loss {ev['nnsweep_loss']:.6f} / {ev['torch_loss']:.6f}")
            if ev["nnsweep_accuracy"] != ev["torch_accuracy"]:
                bad += 1
        rp = replay(d, torch.float64 if args.float64 else torch.float32) if args.replay else None
        if rp:
            print(f"{'':44} the whole run ({rp['epochs']} epochs) from the same weights in the same order: test accuracy "
                  f"nnsweep {rp['nnsweep_accuracy']:.2%}, PyTorch {rp['torch_accuracy']:.2%}")
        elif args.replay:
            print(f"{'':44} no replay: it needs MNIST, order.npz, no validation split, no dropout and no augment")
        rows.append({"training": name, "optimizer": opt, "steps": k, "loss_rel": worst["loss"][0],
                     "grad_rel": worst["grad"][0], "grad_tensor": worst["grad"][2], "grad_step": worst["grad"][1],
                     "weight_rel": worst["weight"][0], "weight_tensor": worst["weight"][2],
                     "weight_step": worst["weight"][1], "lr_rel": worst["lr"][0], "parted": parted, "eval": ev, "replay": rp})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
