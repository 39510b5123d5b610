#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time (ctest <fuzzer>_fuzz, label
# fuzzing, in the SK_FUZZ=ON sanitizer build that scripts/test.sh makes).
#
#   run_fuzzer.sh FUZZER SEED_CORPUS WORK_DIR SECONDS
#
# The checked-in corpus (fuzz/corpus/<fuzzer>/) seeds the run and is never
# written; new inputs go to WORK_DIR/corpus. The seed is fixed (SK_FUZZ_SEED,
# default 1) so a run is repeatable. A crash, leak, sanitizer report, timeout
# (10 s per input) or out-of-memory (2 GiB) fails the test and prints the
# input's path: add it to fuzz/corpus/<fuzzer>/ as a named regression input
# (e.g. regression-<what>) with the fix, and the replay test keeps it fixed.
set -uo pipefail
fuzzer=$1 seed_corpus=$2 work=$3 seconds=$4
name=$(basename "$fuzzer")
mkdir -p "$work/corpus" "$work/artifacts"
rm -f "$work"/artifacts/*
log=$work/fuzz.log
rc=0
"$fuzzer" -seed="${SK_FUZZ_SEED:-1}" -max_total_time="$seconds" -timeout=10 \
  -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" "$work/corpus" "$seed_corpus" >"$log" 2>&1 || rc=$?
grep -E '^stat::(number_of_executed_units|peak_rss_mb|new_units_added)' "$log" | sed "s/^/$name /"
corpus_files=$(find "$work/corpus" "$seed_corpus" -type f | wc -l)
echo "$name: fuzzed ${seconds} s, corpus $corpus_files inputs (seed corpus $(find "$seed_corpus" -type f | wc -l))"
if [ $rc -ne 0 ] || [ -n "$(ls -A "$work/artifacts")" ]; then
  tail -n 60 "$log"
  for a in "$work"/artifacts/*; do
    [ -e "$a" ] && echo "FAIL: $name: input $a (add it to fuzz/corpus/$name/ as a regression input with the fix)"
  done
  echo "FAIL: $name exited $rc"
  exit 1
fi
echo "ok: $name: no crash"
