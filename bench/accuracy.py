#!/usr/bin/python3
"""nnsweep's test accuracy beside PyTorch's over the same seeds, for the reference models.

For each configuration it trains the example spec's point in nnsweep with `repeats:` seeds (the
spec's seed, seed+1, …: a copy of the spec with `repeats: N`) and the same architecture,
initialisation, optimizer, batch size and epochs in PyTorch (bench/peer.py) with the same seed
numbers, on the full embedded MNIST, and prints the two means and standard deviations, their
difference and the standard error of that difference. PyTorch's seeds draw other weights and
orders than nnsweep's (the generators differ): what is compared is the distribution of results,
which is why the standard error is printed beside the difference.

Usage: bench/accuracy [--only cnn2-n2,mlp-n32] [--seeds 5] [--first-seed 1] [--threads 1]
       [--json FILE]
Runs are sequential; PyTorch runs on --threads threads (1 by default: its result does not depend
on a quiet machine then, and accuracy is what is measured, not time). Takes about 25 minutes for
the default five configurations (frontier-n5, the frontier example's turning point, runs only when
--only names it) and 5 seeds on a 2-core machine. Needs PyTorch (bench/ensure-torch
installs it). Not part of CI.
"""

import argparse
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench import torch_env  # noqa: E402  (bench/bench.py: PyTorch's environment, OpenBLAS overrides unset)
ROOT = os.path.dirname(HERE)
TORCH_PYTHON = "/usr/bin/python3"

# name, spec, point n, peer architecture, epochs (the spec's own)
CONFIGS = [
    ("cnn2-n2", "examples/mnist-cnn2.yaml", 2, "cnn2", 12),
    ("cnn2-n1", "examples/mnist-cnn2.yaml", 1, "cnn2", 12),
    ("cnn1-n2", "examples/mnist-cnn1.yaml", 2, "cnn1", 12),
    ("mlp-n32", "examples/mnist-mlp.yaml", 32, "mlp", 20),
    ("mlp-pool-n64", "examples/mnist-mlp-pool.yaml", 64, "mlp-pool", 20),
    ("frontier-n5", "examples/mnist-frontier.yaml", 5, "frontier", 15),
]
# Configurations run only when --only names them: a PyTorch training of the frontier model takes
# over ten minutes on 1 thread here (its grouped convolutions are slow on CPU).
OPT_IN = {"frontier-n5"}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def spec_seed(path):
    with open(path) as f:
        for line in f:
            if line.strip().startswith("seed:"):
                return int(line.split(":", 1)[1])
    return 1


def nnsweep_accuracies(binary, spec, n, seeds, first_seed, tmp):
    """Trains spec's point n with `repeats: seeds` from first_seed; returns the accuracies in seed order."""
    src = open(os.path.join(ROOT, spec)).read()
    src = src.replace(f"seed: {spec_seed(os.path.join(ROOT, spec))}\n", f"seed: {first_seed}\n", 1)
    path = os.path.join(tmp, os.path.basename(spec))
    if re.search(r"^repeats:.*$", src, re.M):
        src = re.sub(r"^repeats:.*$", f"repeats: {seeds}", src, count=1, flags=re.M)
    else:
        src += f"repeats: {seeds}\n"
    with open(path, "w") as f:
        f.write(src)
    out = os.path.join(tmp, "out-" + os.path.basename(spec) + f"-n{n}")
    subprocess.run([binary, "run", path, "--points", f"n={n}", "--out", out, "--progress", "none"],
                   check=True, stdout=subprocess.DEVNULL)
    recs = [json.loads(l) for l in open(os.path.join(out, "results.jsonl")) if l.strip()]
    recs = [r for r in recs if r["vars"].get("n") == n]
    return [r["test_accuracy"] for r in sorted(recs, key=lambda r: r["seed"])]


def torch_accuracy(arch, n, epochs, seed, threads):
    cmd = [TORCH_PYTHON, os.path.join(HERE, "peer.py"), "--arch", arch, "--n", str(n), "--epochs", str(epochs),
           "--threads", str(threads), "--seed", str(seed), "--warmup", "0"]
    p = subprocess.run(cmd, check=True, capture_output=True, text=True, env=torch_env())
    return json.loads(p.stdout.strip().splitlines()[-1])["test_accuracy"]


def summary(xs):
    m = statistics.mean(xs)
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return m, sd


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", help="comma-separated configurations: " + ", ".join(c[0] for c in CONFIGS))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", help="write the rows, every accuracy included, to this file")
    a = ap.parse_args()
    if a.seeds < 2:
        raise SystemExit("accuracy: --seeds must be at least 2 (a standard deviation needs two)")
    configs = [c for c in CONFIGS if c[0] not in OPT_IN]
    if a.only:
        names = a.only.split(",")
        unknown = [x for x in names if x not in {c[0] for c in CONFIGS}]
        if unknown:
            raise SystemExit(f"accuracy: unknown configuration {unknown[0]!r}; use " + ", ".join(c[0] for c in CONFIGS))
        configs = [c for c in CONFIGS if c[0] in names]
    tmp = tempfile.mkdtemp(prefix="nnsweep-accuracy-")
    binary = os.path.join(tmp, "nnsweep")
    subprocess.run(["go", "build", "-o", binary, "."], cwd=ROOT, check=True)
    seeds = list(range(a.first_seed, a.first_seed + a.seeds))
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; seeds {seeds[0]}…{seeds[-1]}; PyTorch on {a.threads} thread(s)",
          flush=True)
    rows = []
    for name, spec, n, arch, epochs in configs:
        t0 = time.time()
        ours = nnsweep_accuracies(binary, spec, n, a.seeds, a.first_seed, tmp)
        t1 = time.time()
        theirs = [torch_accuracy(arch, n, epochs, s, a.threads) for s in seeds]
        t2 = time.time()
        (mo, so), (mt, st) = summary(ours), summary(theirs)
        se = math.sqrt(so ** 2 / len(ours) + st ** 2 / len(theirs))
        row = {"config": name, "seeds": seeds, "nnsweep": ours, "pytorch": theirs, "nnsweep_mean": mo,
               "nnsweep_sd": so, "pytorch_mean": mt, "pytorch_sd": st, "difference": mo - mt, "se": se,
               "nnsweep_seconds": t1 - t0, "pytorch_seconds": t2 - t1}
        rows.append(row)
        print(f"{name:13} nnsweep {100 * mo:6.2f} ± {100 * so:4.2f}   PyTorch {100 * mt:6.2f} ± {100 * st:4.2f}   "
              f"difference {100 * (mo - mt):+5.2f} (standard error {100 * se:4.2f})   "
              f"[{' '.join(f'{100 * x:.2f}' for x in ours)}] vs [{' '.join(f'{100 * x:.2f}' for x in theirs)}]",
              flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"cpu": cpu_model(), "rows": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
