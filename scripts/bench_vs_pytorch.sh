#!/usr/bin/env bash
# strata against PyTorch (CPU) on W1-W6, alternating runs, medians of REPEATS (default 3).
# A developer tool, not a CI step: it installs PyTorch from PyPI into a virtual environment
# outside the repository (STRATA_BENCH_VENV, default /tmp/strata-bench-venv) on first use.
# Usage: scripts/bench_vs_pytorch.sh [REPEATS] [W1 W2 ...]
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${STRATA_BENCH_VENV:-/tmp/strata-bench-venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch, numpy" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q torch numpy
fi
"$venv/bin/python" -c "import torch; print('PyTorch', torch.__version__, '| strata', '$(grep -m1 '^version' Cargo.toml | cut -d'"' -f2)', '|', open('/proc/cpuinfo').read().split('model name')[1].split(':')[1].split('\n')[0].strip(), '|', __import__('os').cpu_count(), 'CPUs')"
exec "$venv/bin/python" scripts/bench_vs_pytorch.py "$venv/bin/python" "$@"
