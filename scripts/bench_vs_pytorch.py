"""strata against PyTorch on workloads W1-W7, side by side on this machine.

Each run is its own process; runs alternate (PyTorch 1 thread, PyTorch 2 threads, strata) and
repeat REPEATS times; the table shows medians, the CPU seconds other processes used during the
runs (this machine is shared: a busy neighbour skews a timing), and strata's figure relative to
PyTorch's better setting. Run through scripts/bench_vs_pytorch.sh, which prepares the
environment. Usage: python bench_vs_pytorch.py PYTHON [REPEATS] [WORKLOADS...]
"""
import json, os, resource, statistics, subprocess, sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
PYTHON = sys.argv[1]
REPEATS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
WORKLOADS = sys.argv[3:] or ["W1", "W2", "W3", "W4", "W5", "W6"]
HZ = os.sysconf("SC_CLK_TCK")
# Figures where smaller is better; the others (rates, GFLOP/s, accuracy) are larger-is-better.
SMALLER = {"fit_seconds", "seconds_per_epoch", "microseconds_per_step", "test_mse"}


def busy_seconds():
    fields = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / HZ  # all but idle and iowait


def run(cmd, env=None):
    before_busy = busy_seconds()
    before_child = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    after_child = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = (after_child.ru_utime - before_child.ru_utime) + (after_child.ru_stime - before_child.ru_stime)
    others = max(0.0, busy_seconds() - before_busy - own)
    rows = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    return rows, others


def main():
    subprocess.run(["cargo", "bench", "-p", "strata", "--bench", "workloads", "--no-run"], cwd=ROOT, check=True, capture_output=True)
    results = {}  # (workload row name, system) -> {figure: [values]}
    others = {}
    for w in WORKLOADS:
        for _ in range(REPEATS):
            systems = [
                ("pytorch-1", [PYTHON, "scripts/bench_pytorch.py", w, "1"], None),
                ("pytorch-2", [PYTHON, "scripts/bench_pytorch.py", w, "2"], None),
                ("strata", ["cargo", "bench", "-q", "-p", "strata", "--bench", "workloads", "--", w, "--json"], dict(os.environ, STRATA_NUM_THREADS="2")),
            ]
            for system, cmd, env in systems:
                rows, other = run(cmd, env)
                others.setdefault((w, system), []).append(other)
                for row in rows:
                    label = system
                    name = row.pop("workload")
                    row.pop("threads", None)
                    if not name.startswith("W5"):
                        name = name.split()[0]  # strata says "W1 Iris", PyTorch "W1"
                    if system == "strata" and name.startswith("W5"):
                        # strata's W5 rows name their thread count; compare like with like.
                        name, _, threads = name.rpartition(", ")
                        name = name.replace("W5 matmul ", "W5 ")
                        label = f"strata-{threads.split()[0]}"
                    for k, v in row.items():
                        results.setdefault((name, label), {}).setdefault(k, []).append(v)
    print(f"| workload | figure | PyTorch 1 thread | PyTorch 2 threads | strata | strata / better PyTorch | other processes' CPU s (median) |")
    print("|---|---|---|---|---|---|---|")
    names = sorted({n for n, _ in results}, key=lambda n: (n[:2], n))
    for name in names:
        figures = next(v for (n, _), v in results.items() if n == name).keys()
        for fig in figures:
            get = lambda s: statistics.median(results[(name, s)][fig]) if (name, s) in results else None
            t1, t2 = get("pytorch-1"), get("pytorch-2")
            ours = [get(s) for s in ("strata", "strata-1", "strata-2") if get(s) is not None]
            if t1 is None or t2 is None or not ours:
                continue
            better_torch = min(t1, t2) if fig in SMALLER else max(t1, t2)
            best_ours = min(ours) if fig in SMALLER else max(ours)
            ratio = best_ours / better_torch if better_torch else float("nan")
            w = name.split()[0]
            noise = statistics.median(others.get((w, "strata"), [0.0]) + others.get((w, "pytorch-1"), []) + others.get((w, "pytorch-2"), []))
            print(f"| {name} | {fig} | {t1:.4g} | {t2:.4g} | {best_ours:.4g} | {ratio:.3f} | {noise:.2f} |")


if __name__ == "__main__":
    main()
