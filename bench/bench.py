#!/usr/bin/python3
"""nnsweep against PyTorch: training throughput and peak memory, alternating, in one run.

Run through bench/run, which installs PyTorch first. Standard library only; runs PyTorch's side
(bench/peer.py) with /usr/bin/python3 and OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset for that
command alone.
"""

import argparse
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TORCH_PYTHON = "/usr/bin/python3"

# name, spec (and flags that pick its model), peer architecture, n, training examples K, epochs. K (and epochs where 60,000
# examples take under a few seconds) are chosen so that one nnsweep run (engine as of writing) takes
# roughly 5–20 s on the 2-core reference machine, long enough that its cold start (buffers made,
# the first calls of each large pass timed whole and split) is a few per cent of it, as PyTorch's
# warm-up is excluded from its time; --scale multiplies K (capped at 60,000).
WORKLOADS = [
    ("mlp-n512", "examples/mnist-mlp.yaml", "mlp", 512, 60000, 1),
    ("mlp-n32", "examples/mnist-mlp.yaml", "mlp", 32, 60000, 10),
    ("cnn1-n32", "examples/mnist-cnn1.yaml", "cnn1", 32, 10000, 1),
    ("cnn2-n32", "examples/mnist-compare.yaml --only cnn2", "cnn2", 32, 12000, 1),  # the main job stops at n=16
    ("cnn2-n8", "examples/mnist-cnn2.yaml", "cnn2", 8, 60000, 1),
    ("cnn2-n2", "examples/mnist-cnn2.yaml", "cnn2", 2, 60000, 5),
    ("frontier-n12", "examples/mnist-frontier.yaml", "frontier", 12, 20000, 1),
]


def log(msg=""):
    print(msg, flush=True)


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except OSError:
        return float("nan")


def cpu_busy():
    """Seconds of CPU time the whole machine has spent busy since boot (all cores), from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return float("nan")
    # user nice system idle iowait irq softirq steal ...
    busy = v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)
    return busy / os.sysconf("SC_CLK_TCK")


def wait_quiet(max_wait, threshold):
    """Waits (at most max_wait seconds) until the other processes use under threshold cores,
    sampled over one second; returns the last sample, in cores."""
    deadline = time.time() + max_wait
    while True:
        b0, t0 = cpu_busy(), time.perf_counter()
        time.sleep(1.0)
        other = (cpu_busy() - b0) / (time.perf_counter() - t0)
        if other < threshold or time.time() >= deadline:
            return other


def run_measured(cmd, env=None, timeout=900):
    """Runs cmd and returns (stdout, stderr, returncode, wall seconds, peak RSS in MB of the
    process, cores used by other processes meanwhile: machine busy time less the child's own
    CPU time, divided by the wall time)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        b0, t0 = cpu_busy(), time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=ROOT)
        timer = threading.Timer(timeout, p.kill)
        timer.start()
        try:
            _, status, ru = os.wait4(p.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        other = max(0.0, (cpu_busy() - b0 - ru.ru_utime - ru.ru_stime) / wall)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (out.read().decode(errors="replace"), err.read().decode(errors="replace"), p.returncode, wall,
                ru.ru_maxrss / 1024.0, other)


def run_nnsweep(binary, spec, n, k, epochs, tmp, extra=()):
    out_dir = tempfile.mkdtemp(prefix="nnsweep-", dir=tmp)
    cmd = [binary, "run", *spec.split(), "--points", f"n={n}", "--epochs", str(epochs), "--limit-train", str(k),
           "--out", out_dir, "--progress", "none", "--force",
           "--jobs", "1",  # one training at a time, as PyTorch's; left out, seeds of small points share the cores
           *extra]
    try:
        stdout, stderr, rc, wall, rss, other = run_measured(cmd)
        if rc != 0:
            raise RuntimeError(f"{' '.join(cmd)}: exit {rc}\n{stderr[-3000:]}")
        with open(os.path.join(out_dir, "results.jsonl")) as f:
            rows = [json.loads(line) for line in f if line.strip()]
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    r = rows[-1]
    examples = r["train_examples"] * r["epochs"]
    return {"img_s": examples / r["train_seconds"], "seconds": r["train_seconds"], "examples": examples,
            "macs": r.get("macs"),
            "test_accuracy": r.get("test_accuracy"), "status": r.get("status"), "rss_mb": rss, "wall_s": wall,
            "other_cores": other}


def torch_env():
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    return env


def run_torch(arch, n, k, epochs, threads, warmup):
    cmd = [TORCH_PYTHON, os.path.join(HERE, "peer.py"), "--arch", arch, "--n", str(n), "--limit-train", str(k),
           "--epochs", str(epochs), "--threads", str(threads), "--warmup", str(warmup)]
    stdout, stderr, rc, wall, rss, other = run_measured(cmd, env=torch_env())
    if rc != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {rc}\n{stderr[-3000:]}")
    r = json.loads(stdout.strip().splitlines()[-1])
    r["rss_mb_self"] = r.get("rss_mb")
    r["rss_mb"] = rss
    r["wall_s"] = wall
    r["other_cores"] = other
    return r


SGEMM_N = 2048
# PyTorch's torch.mm on SGEMM_N² matrices: OpenBLAS's SGEMM with its thread count fixed by
# OPENBLAS_NUM_THREADS (torch.set_num_threads does not reach OpenBLAS's own pthreads); prints GFLOP/s.
TORCH_SGEMM = """
import sys, time, torch
n, reps = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(int(sys.argv[3]))
a, b, c = torch.randn(n, n), torch.randn(n, n), torch.empty(n, n)
for _ in range(3):
    torch.mm(a, b, out=c)
t0 = time.perf_counter()
for _ in range(reps):
    torch.mm(a, b, out=c)
print(2 * n ** 3 * reps / (time.perf_counter() - t0) / 1e9)
"""


def build_kernel_bench(tmp):
    """Compiles runner/kernels's tests (BenchmarkSgemm) into a binary; returns its path."""
    out = os.path.join(tmp, "kernels.test")
    b = subprocess.run(["go", "test", "-c", "-o", out, "./runner/kernels/"], cwd=ROOT, capture_output=True, text=True)
    if b.returncode != 0:
        raise RuntimeError("go test -c ./runner/kernels/: " + b.stderr[-3000:])
    return out


def nnsweep_sgemm(test_binary):
    """Our SGEMM on SGEMM_N³: {"one": GFLOP/s of the best single-thread kernel, "two": SgemmParallel's}."""
    name = f"{SGEMM_N}x{SGEMM_N}x{SGEMM_N}_NN"
    cmd = [test_binary, "-test.run", "^$", "-test.bench", f"^BenchmarkSgemm$/^{name}$/^(avx512|avx2|parallel)$",
           "-test.benchtime", "10x"]
    stdout, stderr, rc, wall, rss, other = run_measured(cmd)
    if rc != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {rc}\n{stderr[-3000:]}")
    rates = {}
    for line in stdout.splitlines():
        m = re.match(rf"BenchmarkSgemm/{name}/(\w+)-\d+\s+\d+\s+\d+ ns/op\s+([\d.]+) GFLOP/s", line)
        if m:
            rates[m.group(1)] = float(m.group(2))
    single = [rates[k] for k in ("avx512", "avx2") if k in rates]
    if not single or "parallel" not in rates:
        raise RuntimeError(f"no SGEMM rates in the output of {' '.join(cmd)}:\n{stdout[-2000:]}")
    return {"one": single[0], "two": rates["parallel"], "other_cores": other,
            "kernel": next(k for k in ("avx512", "avx2") if k in rates)}


def openblas_sgemm(threads, reps=10):
    env = torch_env()
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    cmd = [TORCH_PYTHON, "-c", TORCH_SGEMM, str(SGEMM_N), str(reps), str(threads)]
    stdout, stderr, rc, wall, rss, other = run_measured(cmd, env=env)
    if rc != 0:
        raise RuntimeError(f"torch.mm: exit {rc}\n{stderr[-3000:]}")
    return float(stdout.strip().splitlines()[-1]), other


def sgemm_round(a, tmp):
    """Alternates our SGEMM and OpenBLAS's (through torch.mm) on SGEMM_N³, one and two threads;
    returns the medians over the quiet rounds (all rounds where none was quiet)."""
    binary = build_kernel_bench(tmp)
    rounds = []
    while sum(r["clean"] for r in rounds) < a.reps and len(rounds) < a.reps + a.retries:
        wait_quiet(a.wait_quiet, a.max_other)
        ours = nnsweep_sgemm(binary)
        wait_quiet(a.wait_quiet, a.max_other)
        ob1, o1 = openblas_sgemm(1)
        wait_quiet(a.wait_quiet, a.max_other)
        ob2, o2 = openblas_sgemm(2)
        r = {"nnsweep_1": ours["one"], "nnsweep_2": ours["two"], "openblas_1": ob1, "openblas_2": ob2,
             "kernel": ours["kernel"], "clean": max(ours["other_cores"], o1, o2) <= a.max_other}
        rounds.append(r)
        log(f"  sgemm     {len(rounds)}  nnsweep ({r['kernel']}) {r['nnsweep_1']:6.1f} GFLOP/s one thread, "
            f"{r['nnsweep_2']:6.1f} two; OpenBLAS {ob1:6.1f} one, {ob2:6.1f} two"
            + ("" if r["clean"] else "  [busy machine: round not counted]"))
    used = [r for r in rounds if r["clean"]] or rounds
    med = {k: round(statistics.median(r[k] for r in used), 1) for k in ("nnsweep_1", "nnsweep_2", "openblas_1", "openblas_2")}
    med.update(kernel=used[0]["kernel"], rounds=len(rounds), quiet_rounds=sum(r["clean"] for r in rounds), n=SGEMM_N)
    return med


def conv_gflops(img_s, macs):
    """Training GFLOP/s counted as direct convolution does: forward, input gradient and weight
    gradient each 2·MACs per image."""
    return img_s * 6 * macs / 1e9


def fmt_int(x):
    return f"{x:,.0f}"


def table(headers, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def uptime():
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        with open("/proc/loadavg") as f:
            return "load average: " + " ".join(f.read().split()[:3])


def describe(side, r, quiet):
    acc = r.get("test_accuracy")
    return (f"{side} {fmt_int(r['img_s']):>7s} img/s {r['seconds']:6.2f} s  acc {acc if acc is None else format(acc, '.4f')}"
            f"  rss {r['rss_mb']:4.0f} MB  other load {r['other_cores']:.2f} cores (before: {quiet:.2f})")


def main():
    ap = argparse.ArgumentParser(prog="bench/run", description=(
        "Train seven workloads in nnsweep and in PyTorch, alternating, and compare images/s and peak memory."))
    ap.add_argument("--only", default="", help="comma-separated workloads: " + ",".join(w[0] for w in WORKLOADS))
    ap.add_argument("--reps", type=int, default=3, help="pairs of runs (nnsweep, PyTorch) on a quiet machine per workload; medians taken (default 3)")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every workload's training examples K")
    ap.add_argument("--threads", type=int, default=2, help="PyTorch threads (default 2)")
    ap.add_argument("--warmup", type=int, default=5, help="PyTorch warm-up batches, not timed (default 5)")
    ap.add_argument("--max-other", type=float, default=0.3, metavar="CORES",
                    help="a pair of runs counts only if other processes used at most this many cores meanwhile (default 0.3)")
    ap.add_argument("--retries", type=int, default=None,
                    help="extra pairs allowed per workload to replace pairs run on a busy machine (default: --reps)")
    ap.add_argument("--wait-quiet", type=float, default=20, metavar="SECONDS",
                    help="before each run, wait up to this long for other processes to use under --max-other cores (default 20)")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    ap.add_argument("--binary", help="use this nnsweep binary instead of building one")
    ap.add_argument("--no-sgemm", action="store_true",
                    help=f"skip the SGEMM round (ours against OpenBLAS through torch.mm, {SGEMM_N}³, one and two threads)")
    ap.add_argument("--nnsweep-flag", action="append", default=[], metavar="FLAG",
                    help="pass FLAG to every nnsweep run, e.g. --nnsweep-flag=--engine=stock (repeatable)")
    a = ap.parse_args()

    chosen = WORKLOADS
    if a.only:
        names = [s.strip() for s in a.only.split(",") if s.strip()]
        unknown = [s for s in names if s not in {w[0] for w in WORKLOADS}]
        if unknown:
            ap.error(f"unknown workload(s) {', '.join(unknown)}; known: {', '.join(w[0] for w in WORKLOADS)}")
        chosen = [w for w in WORKLOADS if w[0] in names]
    if a.reps < 1:
        ap.error("--reps must be at least 1")
    if a.retries is None:
        a.retries = a.reps

    started = time.time()
    tmp = tempfile.mkdtemp(prefix="nnsweep-bench-")
    try:
        cpu = "?"
        try:
            with open("/proc/cpuinfo") as f:
                cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
        except OSError:
            pass
        log(f"machine: {cpu}, {os.cpu_count()} CPUs, {platform.platform()}")
        log("uptime: " + uptime())
        ob = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}
        log(f"OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE in this environment: {ob or 'none'} (unset for PyTorch's runs only)")

        binary = a.binary
        if not binary:
            binary = os.path.join(tmp, "nnsweep")
            gov = subprocess.run(["go", "version"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
            log(f"building nnsweep ({gov}): go build -o {binary} .")
            b = subprocess.run(["go", "build", "-o", binary, "."], cwd=ROOT, capture_output=True, text=True)
            if b.returncode != 0:
                log(b.stderr)
                return 1
            commit = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True,
                                    cwd=ROOT).stdout.strip()
            log(f"nnsweep source: {commit or '?'} (the working tree as it was at build time)")
        if a.nnsweep_flag:
            log(f"nnsweep run flags added: {' '.join(a.nnsweep_flag)}")

        log(f"\n{len(chosen)} workload(s) × {a.reps} pair(s) of runs (nnsweep, then PyTorch), up to {a.retries} more "
            f"per workload to replace pairs run while other processes used over {a.max_other} cores; batch 128, "
            f"PyTorch {a.threads} threads")
        results, failures, blas, torch_version, sgemm = [], [], None, "?", None
        if not a.no_sgemm:
            try:
                sgemm = sgemm_round(a, tmp)
            except RuntimeError as e:
                log(f"  sgemm: FAILED: {e}")
                failures.append("sgemm")
        for name, spec, arch, n, k, epochs in chosen:
            k = max(1, min(60000, int(round(k * a.scale))))
            ns_all, pt_all = [], []  # every pair run, in order
            try:
                clean = 0
                while clean < a.reps and len(ns_all) < a.reps + a.retries:
                    rep = len(ns_all) + 1
                    quiet = wait_quiet(a.wait_quiet, a.max_other)
                    ns = run_nnsweep(binary, spec, n, k, epochs, tmp, a.nnsweep_flag)
                    log(f"  {name:9s} {rep}  " + describe("nnsweep", ns, quiet))
                    quiet = wait_quiet(a.wait_quiet, a.max_other)
                    pt = run_torch(arch, n, k, epochs, a.threads, a.warmup)
                    blas = blas or pt.get("blas")
                    torch_version = pt.get("torch", torch_version)
                    ok = max(ns["other_cores"], pt["other_cores"]) <= a.max_other
                    ns["clean"] = pt["clean"] = ok
                    ns_all.append(ns)
                    pt_all.append(pt)
                    clean += ok
                    log(f"  {name:9s} {rep}  " + describe("PyTorch", pt, quiet)
                        + ("" if ok else f"  [busy machine: pair not counted]"))
            except RuntimeError as e:
                log(f"  {name}: FAILED: {e}")
                failures.append(name)
                continue
            # Medians over the pairs run on a quiet machine; over all pairs when none was.
            ns_runs = [r for r in ns_all if r["clean"]] or ns_all
            pt_runs = [r for r in pt_all if r["clean"]] or pt_all
            med = lambda runs, key: statistics.median(r[key] for r in runs)
            ns_img, pt_img = med(ns_runs, "img_s"), med(pt_runs, "img_s")
            results.append({
                "workload": name,
                "nnsweep_img_s": round(ns_img, 1),
                "pytorch_img_s": round(pt_img, 1),
                "ratio": round(ns_img / pt_img, 4),
                "nnsweep_rss_mb": round(max(r["rss_mb"] for r in ns_runs), 1),
                "pytorch_rss_mb": round(max(r["rss_mb"] for r in pt_runs), 1),
                "examples": k,
                "epochs": epochs,
                "macs_per_image": ns_runs[0]["macs"],
                "pairs": len(ns_all),
                "quiet_pairs": clean,
                "nnsweep_test_accuracy": med(ns_runs, "test_accuracy"),
                "pytorch_test_accuracy": med(pt_runs, "test_accuracy") if all("test_accuracy" in r for r in pt_runs) else None,
                "nnsweep_best_img_s": round(max(r["img_s"] for r in ns_runs), 1),
                "pytorch_best_img_s": round(max(r["img_s"] for r in pt_runs), 1),
                "nnsweep_runs_img_s": [round(r["img_s"], 1) for r in ns_all],
                "pytorch_runs_img_s": [round(r["img_s"], 1) for r in pt_all],
                "other_load_cores": [round(r["other_cores"], 2) for r in ns_all + pt_all],
                "other_load_cores_used": round(max(r["other_cores"] for r in ns_runs + pt_runs), 2),
            })

        log("")
        if blas:
            log(f"PyTorch {torch_version}: BLAS_INFO={blas.get('torch_blas_info')}, loaded "
                f"{', '.join(blas.get('libs', [])) or 'no BLAS library'}")
            if "openblas_config" in blas:
                log(f"  OpenBLAS: {blas['openblas_config']}; kernel {blas.get('openblas_core')}, "
                    f"{blas.get('openblas_threads')} threads")
            log(f"  oneDNN (mkldnn, torch's CPU convolutions): {blas.get('mkldnn')}")
        if results:
            rows = [[r["workload"], fmt_int(r["nnsweep_img_s"]), fmt_int(r["pytorch_img_s"]), f"{r['ratio']:.2f}×",
                     f"{r['nnsweep_rss_mb']:.0f}", f"{r['pytorch_rss_mb']:.0f}",
                     fmt_int(r["examples"]) + (f"×{r['epochs']}" if r["epochs"] > 1 else ""),
                     f"{r['nnsweep_test_accuracy']:.3f}",
                     "—" if r["pytorch_test_accuracy"] is None else f"{r['pytorch_test_accuracy']:.3f}",
                     f"{r['quiet_pairs']}/{r['pairs']}", f"{r['other_load_cores_used']:.2f}"]
                    for r in results]
            log("\n" + table(["workload", "nnsweep img/s", "PyTorch img/s", "ratio", "nnsweep RSS MB",
                              "PyTorch RSS MB", "examples", "nnsweep acc", "PyTorch acc", "quiet pairs", "other load"], rows))
            gm = math.exp(sum(math.log(r["ratio"]) for r in results) / len(results))
            log(f"\ngeometric mean of ratios (nnsweep/PyTorch): {gm:.2f}×  over {len(results)} workload(s)")
            if a.reps > 1:
                gb = math.exp(sum(math.log(r["nnsweep_best_img_s"] / r["pytorch_best_img_s"]) for r in results) / len(results))
                log(f"(best run against best run instead of medians: {gb:.2f}×; "
                    + ", ".join(f"{r['workload']} {r['nnsweep_best_img_s'] / r['pytorch_best_img_s']:.2f}×" for r in results) + ")")
        if sgemm:
            log(f"\nSGEMM {SGEMM_N}³ (medians of {sgemm['quiet_rounds']} quiet rounds of {sgemm['rounds']}): "
                f"nnsweep ({sgemm['kernel']}) {sgemm['nnsweep_1']:.1f} GFLOP/s on one thread, OpenBLAS "
                f"{sgemm['openblas_1']:.1f}: {sgemm['nnsweep_1'] / sgemm['openblas_1']:.0%}; on two, nnsweep "
                f"{sgemm['nnsweep_2']:.1f}, OpenBLAS {sgemm['openblas_2']:.1f}: {sgemm['nnsweep_2'] / sgemm['openblas_2']:.0%}")
        convs = [r for r in results if r["workload"].startswith("cnn") and r.get("macs_per_image")]
        if convs:
            log("training GFLOP/s, direct-convolution count (forward, input and weight gradients: 6·MACs per image)"
                + (f", beside OpenBLAS's SGEMM on two threads ({sgemm['openblas_2']:.1f}):" if sgemm else ":"))
            for r in convs:
                ns, pt = conv_gflops(r["nnsweep_img_s"], r["macs_per_image"]), conv_gflops(r["pytorch_img_s"], r["macs_per_image"])
                r["nnsweep_gflops"], r["pytorch_gflops"] = round(ns, 1), round(pt, 1)
                line = f"  {r['workload']:12s} {r['macs_per_image'] / 1e6:6.2f} M MACs/image  nnsweep {ns:6.1f}  PyTorch {pt:6.1f}"
                if sgemm:
                    line += f"  ({ns / sgemm['openblas_2']:.0%} of OpenBLAS's SGEMM)"
                log(line)
        if failures:
            log(f"FAILED: {', '.join(failures)} (not in the table nor the geometric mean)")
        log(f"""
notes: medians per side over the quiet pairs (all pairs where none was quiet), alternating. RSS: the largest peak resident set of the runs (whole
process, from wait4). nnsweep img/s = train_examples·epochs / train_seconds of results.jsonl, which includes its
first (cold) batches; PyTorch's times its training loop only, after {a.warmup} untimed warm-up batches on a
throwaway model (this favours PyTorch slightly). acc: test accuracy (10,000 images) after training, a sanity
check that both sides train the same thing. "other load": the most cores that other processes used during any
run counted (machine busy time less the run's own CPU time); PyTorch's OpenMP threads suffer far more than
nnsweep's from a busy machine, so trust only rows with every pair quiet and this near 0.""")
        log("uptime: " + uptime())
        log(f"whole run: {time.time() - started:.0f} s")

        if a.json:
            with open(a.json, "w") as f:
                json.dump({"workloads": results, "sgemm": sgemm}, f, indent=2)
                f.write("\n")
            log(f"wrote {a.json}")
        return 1 if failures else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
