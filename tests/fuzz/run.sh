#!/usr/bin/env bash
# Runs every fuzz target of a `fuzz` preset build for SECONDS each, two at a
# time (CI has 2 cores), each on a scratch copy of its seed corpus
# (tests/fuzz/corpus/NAME; the checked-in corpus is not changed). Exits 1 if
# any target found a crash, a leak, a timeout or an uncaught exception; its
# log and the input that did it are printed.
#   usage: tests/fuzz/run.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-build/fuzz}"
seconds="${2:-60}"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/doit-fuzz-XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
# The state fuzzer writes a SQLite file on every input: memory is much faster.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi

run_one() {
  local name="$1"
  mkdir -p "$scratch/$name"
  "$build/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$scratch/$name-" \
    "$scratch/$name" "$here/corpus/$name" >"$scratch/$name.log" 2>&1
}

status=0
names=(command_line ini json state_db cmd_format)
for ((i = 0; i < ${#names[@]}; i += 2)); do
  pids=()
  for name in "${names[@]:i:2}"; do
    run_one "$name" &
    pids+=("$!:$name")
  done
  for entry in "${pids[@]}"; do
    pid="${entry%%:*}" name="${entry#*:}"
    if wait "$pid"; then
      echo "fuzz_$name: $(grep -m1 '^Done' "$scratch/$name.log" || echo done), no crash"
    else
      status=1
      echo "fuzz_$name FAILED:" >&2
      tail -n 60 "$scratch/$name.log" >&2
      for artifact in "$scratch/$name"-*; do
        [ -e "$artifact" ] || continue
        echo "input $(basename "$artifact") (base64): $(base64 -w0 "$artifact")" >&2
      done
    fi
  done
done
exit "$status"
