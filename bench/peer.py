#!/usr/bin/python3
"""PyTorch peer of one nnsweep benchmark workload (run by bench/run; written for nnsweep).

Trains the same architecture as the nnsweep spec, with the same data (the first K images of
dataset/mnist/train-*.gz, pixels / 255), batch size, optimizer and initialisation, for one
epoch (or --epochs), and prints one JSON line:

  {"img_s", "seconds", "examples", "cold_seconds", "test_accuracy", "test_loss", "rss_mb",
   "threads", "blas", ...}

img_s = examples·epochs / seconds, where seconds covers the training loop only: data loading, the
warm-up and the evaluation are outside it. The warm-up trains a throwaway model of the same
shape for a few batches first, so the timed model starts from the same seeded Glorot weights
as a cold run would; cold_seconds is how long those warm-up batches took (for the record).
"""

import argparse
import ctypes
import gzip
import json
import os
import re
import resource
import struct
import sys
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = os.path.join(os.path.dirname(HERE), "dataset", "mnist")


def read_idx_images(path):
    with gzip.open(path, "rb") as f:
        magic, n, h, w = struct.unpack(">IIII", f.read(16))
        if magic != 2051:
            raise SystemExit(f"{path}: not an IDX image file (magic {magic})")
        data = np.frombuffer(f.read(n * h * w), dtype=np.uint8)
    if data.size != n * h * w:
        raise SystemExit(f"{path}: short file")
    return data.reshape(n, 1, h, w)


def read_idx_labels(path):
    with gzip.open(path, "rb") as f:
        magic, n = struct.unpack(">II", f.read(8))
        if magic != 2049:
            raise SystemExit(f"{path}: not an IDX label file (magic {magic})")
        data = np.frombuffer(f.read(n), dtype=np.uint8)
    if data.size != n:
        raise SystemExit(f"{path}: short file")
    return data.astype(np.int64)


def load(data_dir, prefix, limit=0):
    x = read_idx_images(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    y = read_idx_labels(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    if limit > 0:
        x, y = x[:limit], y[:limit]
    xt = torch.from_numpy(x.astype(np.float32) / np.float32(255.0))  # N,1,28,28 in [0,1]
    yt = torch.from_numpy(y)  # int64
    return xt.contiguous(), yt


def conv(cin, cout):
    return [nn.Conv2d(cin, cout, kernel_size=3, padding=0), nn.ReLU()]


def build(arch, n):
    """The same layers as examples/mnist-{mlp,mlp-pool,cnn1,cnn2}.yaml; the softmax of the last
    layer is folded into the loss (nn.CrossEntropyLoss on logits)."""
    if arch == "mlp":  # flatten, dense n relu, dense n relu, dense 10 softmax
        layers = [nn.Flatten(), nn.Linear(784, n), nn.ReLU(), nn.Linear(n, n), nn.ReLU(), nn.Linear(n, 10)]
    elif arch == "mlp-pool":  # maxpool 2, flatten, dense n relu, dense n relu, dense 10 softmax
        layers = [nn.MaxPool2d(2), nn.Flatten(), nn.Linear(196, n), nn.ReLU(), nn.Linear(n, n), nn.ReLU(),
                  nn.Linear(n, 10)]
    elif arch == "cnn1":  # conv n, conv 2n, maxpool 2, flatten, dense 4n relu, dense 10
        layers = conv(1, n) + conv(n, 2 * n) + [nn.MaxPool2d(2), nn.Flatten(),
                                                nn.Linear(2 * n * 12 * 12, 4 * n), nn.ReLU(),
                                                nn.Linear(4 * n, 10)]
    elif arch == "cnn2":  # conv n, conv n, maxpool, conv 2n, conv 2n, maxpool, flatten, dense 10
        layers = (conv(1, n) + conv(n, n) + [nn.MaxPool2d(2)] + conv(n, 2 * n) + conv(2 * n, 2 * n)
                  + [nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2 * n * 4 * 4, 10)])
    elif arch == "frontier":
        # examples/mnist-frontier.yaml: conv n, then separable convolutions (depthwise 3×3, then 1×1),
        # each without bias and followed by batch norm (Keras's momentum 0.99 is torch's 0.01,
        # epsilon 1e-3) and ReLU; one max-pool; global average pooling; dense 10.
        def bn_relu(c):
            return [nn.BatchNorm2d(c, eps=1e-3, momentum=0.01), nn.ReLU()]

        def separable(cin, cout):
            return [nn.Conv2d(cin, cin, 3, groups=cin, bias=False), nn.Conv2d(cin, cout, 1, bias=False)] + bn_relu(cout)
        layers = ([nn.Conv2d(1, n, 3, bias=False)] + bn_relu(n) + separable(n, 2 * n) + [nn.MaxPool2d(2)]
                  + separable(2 * n, 2 * n) + separable(2 * n, 2 * n) + separable(2 * n, 2 * n)
                  + [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * n, 10)])
    else:
        raise SystemExit(f"unknown architecture {arch!r}; use mlp, mlp-pool, cnn1, cnn2 or frontier")
    model = nn.Sequential(*layers)
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(m.weight)  # Glorot-uniform, fans as Keras counts them
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    model.shift = 2 if arch == "frontier" else 0  # the spec's train.augment.shift
    return model


def optimizer(arch, params):
    if arch == "frontier":  # the spec's adam at 0.01, under schedule's onecycle
        return torch.optim.Adam(params, lr=0.01, eps=1e-7)
    if arch in ("mlp", "mlp-pool"):
        # Keras/nnsweep RMSprop: a = rho·a + (1−rho)·g²; w −= lr·g / (√a + ε).
        # torch's RMSprop puts ε after the square root too; its rho is called alpha.
        return torch.optim.RMSprop(params, lr=1e-3, alpha=0.9, eps=1e-7, momentum=0, centered=False)
    # Keras/nnsweep Adadelta: ε inside both square roots, as torch's.
    return torch.optim.Adadelta(params, lr=1.0, rho=0.95, eps=1e-7)


def schedule(arch, opt, steps):
    """The frontier spec's schedule: {name: onecycle}, whose defaults are OneCycleLR's, stepped per
    batch; None for the others (a constant learning rate)."""
    if arch != "frontier":
        return None
    # cycle_momentum=False: nnsweep's onecycle schedules the learning rate only, not Adam's β1.
    return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.01, total_steps=steps, cycle_momentum=False)


def train_batches(model, opt, loss_fn, x, y, batch, gen, max_batches=None, sched=None):
    perm = torch.randperm(x.shape[0], generator=gen)
    done = 0
    for start in range(0, x.shape[0], batch):  # the last partial batch is trained, as nnsweep does
        if max_batches is not None and done >= max_batches:
            break
        idx = perm[start:start + batch]
        xb, yb = x.index_select(0, idx), y.index_select(0, idx)
        if getattr(model, "shift", 0):
            xb = shift(xb, model.shift, gen)
        opt.zero_grad(set_to_none=False)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        done += 1
    return loss.item() if done else float("nan")


def shift(xb, k, gen):
    """Each image moved by whole pixels drawn from −k…k on each axis, zeros shifted in, as
    nnsweep's train.augment.shift (one batched grid_sample)."""
    n, _, h, w = xb.shape
    off = torch.randint(-k, k + 1, (n, 2), generator=gen).to(xb.dtype)
    theta = torch.zeros(n, 2, 3, dtype=xb.dtype)
    theta[:, 0, 0] = 1
    theta[:, 1, 1] = 1
    theta[:, 0, 2] = off[:, 0] * 2 / w
    theta[:, 1, 2] = off[:, 1] * 2 / h
    grid = F.affine_grid(theta, xb.shape, align_corners=False)
    return F.grid_sample(xb, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def evaluate(model, x, y, loss_fn):
    model.eval()
    correct, total_loss = 0, 0.0
    with torch.no_grad():
        for start in range(0, x.shape[0], 1000):
            out = model(x[start:start + 1000])
            yb = y[start:start + 1000]
            total_loss += loss_fn(out, yb).item() * yb.shape[0]
            correct += (out.argmax(1) == yb).sum().item()
    model.train()
    return correct / x.shape[0], total_loss / x.shape[0]


def blas_info():
    """Which BLAS library torch's process has loaded, and OpenBLAS's own word on its kernel."""
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                p = line.split()[-1]
                base = os.path.basename(p)
                if p.startswith("/") and any(k in base for k in ("blas", "mkl_", "libmkl", "blis", "lapack")):
                    libs.add(os.path.realpath(p))
    except OSError:
        pass
    info = {"libs": sorted(libs)}
    for p in sorted(libs):
        if "openblas" not in p:
            continue
        try:
            lib = ctypes.CDLL(p)
            lib.openblas_get_config.restype = ctypes.c_char_p
            lib.openblas_get_corename.restype = ctypes.c_char_p
            info["openblas_config"] = lib.openblas_get_config().decode()
            info["openblas_core"] = lib.openblas_get_corename().decode()
            info["openblas_threads"] = lib.openblas_get_num_threads()
            break
        except (OSError, AttributeError):
            continue
    try:
        import threadpoolctl  # optional
        info["threadpoolctl"] = [{k: d.get(k) for k in ("internal_api", "num_threads", "architecture", "filepath")}
                                 for d in threadpoolctl.threadpool_info()]
    except Exception:
        pass
    m = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    info["torch_blas_info"] = m.group(1) if m else None  # "generic": whatever libblas.so.3 points to
    info["mkldnn"] = bool(torch.backends.mkldnn.is_available())  # oneDNN: torch's CPU convolutions
    info["openblas_env"] = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                                        "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
                            if k in os.environ}
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", required=True, choices=["mlp", "mlp-pool", "cnn1", "cnn2", "frontier"])
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--limit-train", type=int, default=0, help="train on the first K examples (0: all 60,000)")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=5, help="warm-up batches on a throwaway model, not timed")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-eval", action="store_true", help="skip the test-set evaluation")
    ap.add_argument("--data", default=DEFAULT_DATA)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    x, y = load(a.data, "train", a.limit_train)
    if a.arch == "frontier":  # the spec's validation_split: 0.1, held out of training
        keep = x.shape[0] - int(x.shape[0] * 0.1)
        x, y = x[:keep], y[:keep]
    xte, yte = (None, None) if a.no_eval else load(a.data, "t10k")
    loss_fn = nn.CrossEntropyLoss()  # log-softmax + NLL, mean over the batch, as Keras's

    cold = 0.0
    if a.warmup > 0:
        torch.manual_seed(a.seed + 1000)
        wm = build(a.arch, a.n)
        wo = optimizer(a.arch, wm.parameters())
        g = torch.Generator().manual_seed(a.seed + 1000)
        t0 = time.perf_counter()
        train_batches(wm, wo, loss_fn, x, y, a.batch, g, max_batches=a.warmup)
        cold = time.perf_counter() - t0
        del wm, wo

    torch.manual_seed(a.seed)
    model = build(a.arch, a.n)
    opt = optimizer(a.arch, model.parameters())
    sched = schedule(a.arch, opt, -(-x.shape[0] // a.batch) * a.epochs)
    gen = torch.Generator().manual_seed(a.seed)
    t0 = time.perf_counter()
    for _ in range(a.epochs):  # a fresh shuffle every epoch
        last_loss = train_batches(model, opt, loss_fn, x, y, a.batch, gen, sched=sched)
    seconds = time.perf_counter() - t0

    examples = int(x.shape[0]) * a.epochs
    out = {"arch": a.arch, "n": a.n, "examples": examples, "epochs": a.epochs, "batch": a.batch,
           "seconds": seconds, "img_s": examples / seconds,
           "warmup_batches": a.warmup, "warmup_seconds": cold, "last_batch_loss": last_loss,
           "params": sum(p.numel() for p in model.parameters()), "threads": torch.get_num_threads(),
           "torch": torch.__version__, "blas": blas_info()}
    if not a.no_eval:
        out["test_accuracy"], out["test_loss"] = evaluate(model, xte, yte, loss_fn)
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
