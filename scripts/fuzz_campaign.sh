#!/usr/bin/env bash
# The long fuzz campaign of docs/reliability.md: each cargo-fuzz target runs until its libFuzzer
# process has used SECONDS of CPU time (default 1200 = 20 CPU-minutes; counted from
# /proc/PID/stat, so a busy machine slows the campaign but does not shorten it), JOBS targets at
# a time (default 1), at the lowest priority. Corpora in fuzz/corpus/ carry over between runs.
# Prints one line per target: CPU seconds, executions, coverage, corpus, and any finding.
# Usage: scripts/fuzz_campaign.sh [SECONDS] [JOBS] [TARGET...]
# A finding is left in fuzz/artifacts/TARGET/ and makes the script exit non-zero; turn each one
# into a regression test before fixing it.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-1200}
jobs=${2:-1}
shift $(( $# > 2 ? 2 : $# ))
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(weights idx idx_gzip csv spec checkpoint)
logs=target/campaign
mkdir -p "$logs"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
for target in "${targets[@]}"; do
  cargo fuzz build "$target" --sanitizer none
done
binary_dir=target/x86_64-unknown-linux-gnu/release
ticks=$(getconf CLK_TCK)

run_one() {
  local target=$1 log="$logs/$1.log"
  mkdir -p "corpus/$target" "artifacts/$target"
  nice -n 19 "$binary_dir/$target" -artifact_prefix="artifacts/$target/" -rss_limit_mb=2048 \
    -print_final_stats=1 "corpus/$target" >"$log" 2>&1 &
  local pid=$! cpu=0
  while kill -0 "$pid" 2>/dev/null; do
    cpu=$(awk -v t="$ticks" '{print int(($14 + $15) / t)}' "/proc/$pid/stat" 2>/dev/null || echo "$cpu")
    if [ "$cpu" -ge "$seconds" ]; then
      kill -INT "$pid"
      break
    fi
    sleep 5
  done
  wait "$pid" || true
  local last runs finding=none
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  # Crashes, timeouts, out-of-memory and leaks are findings; a "slow unit" is not (pausing the
  # process, e.g. with SIGSTOP while benchmarking, makes any input look slow).
  if grep -q -E '^==[0-9]+== ERROR|deadly signal|Test unit written to .*(crash|timeout|oom|leak)-' "$log"; then
    finding="FOUND (see $log and artifacts/$target/)"
  fi
  echo "$target: ${cpu} CPU s, ${runs} executions; ${last}; finding: ${finding}"
  [ "$finding" = none ]
}

status=0
pids=()
for target in "${targets[@]}"; do
  run_one "$target" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$jobs" ]; then
    wait "${pids[0]}" || status=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do
  wait "$pid" || status=1
done
exit "$status"
