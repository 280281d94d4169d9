#!/usr/bin/env bash
# The long fuzz campaign of docs/reliability.md: every cargo-fuzz target for SECONDS (default
# 1200 = 20 CPU-minutes, one libFuzzer process on one core each, run one after another), then a
# summary line per target: executions, corpus size, coverage and whether anything was found.
# Usage: scripts/fuzz_campaign.sh [SECONDS] [LOG_DIR]
# A finding is left in fuzz/artifacts/TARGET/ and makes the script exit non-zero; turn each one
# into a regression test before fixing it.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-1200}
logs=${2:-target/campaign}
mkdir -p "$logs"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
targets=(weights idx idx_gzip csv spec)
for target in "${targets[@]}"; do
  cargo fuzz build "$target" --sanitizer none
done
found=0
for target in "${targets[@]}"; do
  echo "== $target: ${seconds}s ($(date -u +%FT%TZ))"
  if ! cargo fuzz run "$target" --sanitizer none -- -max_total_time="$seconds" -rss_limit_mb=2048 \
      -print_final_stats=1 >"$logs/$target.log" 2>&1; then
    found=1
    echo "   FINDING: see $logs/$target.log and artifacts/$target/"
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$logs/$target.log" | grep -o '[0-9]*$' || echo '?')
  last=$(grep -E '^#[0-9]+' "$logs/$target.log" | tail -n 1 || true)
  echo "   executions: $runs; last status: $last"
done
exit "$found"
