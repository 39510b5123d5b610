#!/usr/bin/env bash
# Runs every benchmark program in bench/ (discovery; device plugin start,
# RSS, Allocate, idle CPU, event latency and RSS flatness; CNI in netdevice and vfio mode;
# the meta-plugin's pod ADD+DEL and daemon RSS) with repetitions and prints one table: each
# figure's median over the repetitions, its spread ((max - min) / median),
# the floor or peer measured in the same run and the ratio to it. The CNI
# benchmark's deterministic syscall / netlink counts follow the table.
#
#   scripts/bench.sh [--force] [--reps N] [--build-dir DIR] [--no-build]
#                    [--only PROG[,PROG...]]
#
# --only runs those programs of the four (e.g. --only cni_bench,netattach_bench):
# a partial table, for re-measuring one area.
# Refuses to run (exit 2) when the 1-minute load average exceeds
# SK_BENCH_MAX_LOAD (default 0.5 x cores): a busy machine makes every figure
# a measurement of the neighbours. --force runs anyway and flags the table.
# cni_bench and netattach_bench need root (network namespaces). A benchmark
# that is not built, needs root, or fails makes the run exit 1 after the
# table, naming it. SK_DP_IDLE_SECONDS (default 60) is the device
# plugin's idle window. Builds only the benchmark targets (never `all`).
set -euo pipefail
cd "$(dirname "$0")/.."

FORCE=0
REPS=5
BUILD=build
DO_BUILD=1
ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --force) FORCE=1 ;;
    --reps) REPS=$2; shift ;;
    --build-dir) BUILD=$2; shift ;;
    --no-build) DO_BUILD=0 ;;
    --only) ONLY=$2; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument: $1" >&2; exit 64 ;;
  esac
  shift
done
case "$REPS" in
  ''|*[!0-9]*) echo "bench.sh: --reps wants a positive integer, got '$REPS'" >&2; exit 64 ;;
esac

CORES=$(nproc)
LOAD=$(cut -d' ' -f1 /proc/loadavg)
MAX_LOAD=${SK_BENCH_MAX_LOAD:-$(awk -v c="$CORES" 'BEGIN { printf "%.2f", 0.5 * c }')}
BUSY=$(awk -v l="$LOAD" -v m="$MAX_LOAD" 'BEGIN { print (l > m) ? 1 : 0 }')
if [ "$BUSY" = 1 ] && [ "$FORCE" = 0 ]; then
  echo "bench.sh: load average $LOAD exceeds $MAX_LOAD ($CORES cores);" \
    "refusing to measure (wait for a quiet machine, or --force to flag the table)" >&2
  exit 2
fi

PROGRAMS=(discovery_bench deviceplugin_bench cni_bench netattach_bench)
if [ -n "$ONLY" ]; then
  wanted=()
  IFS=, read -r -a wanted <<<"$ONLY"
  for w in "${wanted[@]}"; do
    case " ${PROGRAMS[*]} " in
      *" $w "*) ;;
      *) echo "bench.sh: --only: unknown program '$w' (one of: ${PROGRAMS[*]})" >&2; exit 64 ;;
    esac
  done
  PROGRAMS=("${wanted[@]}")
fi
if [ "$DO_BUILD" = 1 ]; then
  if [ ! -f "$BUILD/build.ninja" ]; then
    cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build "$BUILD" --target "${PROGRAMS[@]}" -j "${SK_JOBS:-2}" >/dev/null
fi

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
# A benchmark that is missing, cannot run or fails makes the run fail after
# the table: a table with a hole is not a result.
MISSING=()
for p in "${PROGRAMS[@]}"; do
  bin="$BUILD/bench/$p"
  if [ ! -x "$bin" ]; then
    echo "bench.sh: $bin not built" >&2
    MISSING+=("$p (not built)")
    continue
  fi
  if { [ "$p" = cni_bench ] || [ "$p" = netattach_bench ]; } && [ "$(id -u)" != 0 ]; then
    echo "bench.sh: $p needs root" >&2
    MISSING+=("$p (needs root)")
    continue
  fi
  echo "== $p ($REPS repetitions)" >&2
  if [ "$p" = netattach_bench ]; then
    # Not a Google Benchmark program: one run = 50 interleaved pod cycles and
    # the RSS figures; repeated like the others, its text kept per run.
    for r in $(seq "$REPS"); do
      if ! "$bin" 50 >"$OUT/$p.$r.txt" 2>>"$OUT/$p.err"; then
        echo "bench.sh: $p failed:" >&2
        tail -5 "$OUT/$p.err" >&2
        MISSING+=("$p (failed)")
      fi
    done
    continue
  fi
  "$bin" --benchmark_repetitions="$REPS" \
    --benchmark_out="$OUT/$p.json" --benchmark_out_format=json \
    >"$OUT/$p.txt" 2>"$OUT/$p.err" || {
    echo "bench.sh: $p failed:" >&2
    tail -5 "$OUT/$p.err" >&2
    MISSING+=("$p (failed)")
  }
done

python3 - "$OUT" "$LOAD" "$MAX_LOAD" "$BUSY" <<'EOF'
import json, os, re, statistics, sys

out, load, max_load, busy = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
# Figure -> the floor or peer it is compared with, both from the same run.
REF = {
    "BM_Discover/vfs:2048/threads:0": "BM_SyscallFloor/vfs:2048",
    "BM_Discover/vfs:2048/threads:1": "BM_SyscallFloor/vfs:2048",
    "BM_DiscoverLean/vfs:2048/threads:0": "BM_SyscallFloor/vfs:2048",
    "BM_DiscoverLean/vfs:2048/threads:1": "BM_SyscallFloor/vfs:2048",
    "BM_SriovAddDel": "BM_KernelNetnsMoveFloor",
    "BM_GoHostDeviceAddDel": "BM_KernelNetnsMoveFloor",
    "BM_SriovVfioAddDel": "BM_ExecTrueFloor",
    # Start: the discovery every start must do (discovery_bench, same run).
    "BM_StartToRegistered": "BM_Discover/vfs:2048/threads:0",
    "BM_AllocateRoundTrip": "BM_AllocateGrpcFloor",
    "BM_AllocateRoundTrip [p50_us]": "BM_AllocateGrpcFloor [p50_us]",
    "BM_AllocateRoundTrip [p99_us]": "BM_AllocateGrpcFloor [p99_us]",
    # RSS after 10,000 Allocates and 100 rediscoveries vs before them.
    "BM_RssFlat [rss_end_kib]": "BM_RssFlat [rss_start_kib]",
    "netattach pod ADD+DEL via the meta-plugin": "netattach macvlan ADD+DEL exec'd directly",
    # The meta layer's cost vs this architecture's floor: the shim's two
    # execs and one network-status PATCH (netattach_bench, same cycles).
    "netattach meta-layer overhead": "netattach floor: 2 shim execs + PATCH",
    "netattach meta-layer overhead, paired cycles": "netattach floor: 2 shim execs + PATCH",
    # Wall time through the shim less the delegates' time the daemon
    # measured in the same call: no delegate variance in it.
    "netattach meta layer's own time, exact": "netattach floor: 2 shim execs + PATCH",
    # The shim's execs vs the empty program linked as the shim is (static,
    # musl): what the shim's own code adds to exec and libc start-up.
    "netattach 2 shim execs (VERSION)": "netattach 2 execs of the empty static program",
    "netattachd RSS, 5000 NADs + 500 pods cached": "netattachd RSS, empty caches",
}
# The kernel's cost of the very link requests the plugin makes (same run).
SEQ = {"BM_SriovAddDel": "BM_KernelSequenceFloor"}
PEER = {"BM_SriovAddDel": "BM_GoHostDeviceAddDel"}
# An admin's iproute2 script doing the same link steps (same run).
IPROUTE2 = {"BM_SriovAddDel": "BM_Iproute2NetdevAddDel"}
# Figures whose floor is zero: the issue's target instead of a ratio.
TARGET = {
    "BM_IdleCpu [cpu_pct]": "target < 0.1 % of a core (floor 0)",
    "BM_EventToListAndWatch [p50_ms]": "target < 50 ms",
    "BM_RssFlat [growth_kib]": "flat: near 0 (floor 0)",
}
SKIP_COUNTERS = {"vfs", "devices", "threads"}

rows = {}  # key -> (unit, [values])
order = []
for prog in ("discovery_bench", "deviceplugin_bench", "cni_bench"):
    path = os.path.join(out, prog + ".json")
    if not os.path.exists(path):
        continue
    with open(path) as f:
        data = json.load(f)
    for b in data.get("benchmarks", []):
        if b.get("run_type") != "iteration" or b.get("error_occurred"):
            continue
        # "BM_X/vfs:2048/iterations:60/process_time/real_time" -> "BM_X/vfs:2048"
        name = re.sub(r"/(iterations:\d+|process_time|real_time|manual_time)", "",
                      b["run_name"])
        figures = [(name, b.get("time_unit", "ns"), b["real_time"])]
        for k, v in b.items():
            if k in SKIP_COUNTERS or not isinstance(v, (int, float)):
                continue
            if k.endswith(("_us", "_ms", "_kib", "_kb", "_pct")):
                figures.append((name + " [" + k + "]", k.split("_")[-1], v))
        for key, unit, v in figures:
            if key not in rows:
                rows[key] = (unit, [])
                order.append(key)
            rows[key][1].append(float(v))

# netattach_bench prints text; one figure per run.
NETATTACH = [
    (r"via sriov-netattach \+ daemon : +([\d.]+)", "netattach pod ADD+DEL via the meta-plugin", "ms"),
    (r"macvlan exec'd directly +: +([\d.]+)", "netattach macvlan ADD+DEL exec'd directly", "ms"),
    (r"meta-layer overhead \(median\) : +([\d.]+)", "netattach meta-layer overhead", "ms"),
    (r"ADD\+DEL +: +([\d.]+)", "netattach meta-layer overhead, paired cycles", "ms"),
    (r"ADD\+DEL +: +([\d.]+) / +[\d.]+ +\(floor", "netattach meta layer's own time, exact", "ms"),
    (r"of which in the daemon +: +([\d.]+)", "netattach   of which in the daemon", "ms"),
    (r"\(floor ([\d.]+) ms\)", "netattach floor: 2 shim execs + PATCH", "ms"),
    (r"2 shim execs \(VERSION\): +([\d.]+)", "netattach 2 shim execs (VERSION)", "ms"),
    (r"of which the empty program : +([\d.]+)", "netattach 2 execs of the empty static program", "ms"),
    (r"VmRSS: (\d+) KiB with empty caches", "netattachd RSS, empty caches", "kib"),
    (r"KiB with empty caches, (\d+) KiB with 5000", "netattachd RSS, 5000 NADs + 500 pods cached", "kib"),
]
for fname in sorted(os.listdir(out)):
    if not re.fullmatch(r"netattach_bench\.\d+\.txt", fname):
        continue
    text = open(os.path.join(out, fname)).read()
    for rx, key, unit in NETATTACH:
        m = re.search(rx, text)
        if not m:
            continue
        if key not in rows:
            rows[key] = (unit, [])
            order.append(key)
        rows[key][1].append(float(m.group(1)))

def med(key):
    return statistics.median(rows[key][1])

flag = " *" if busy else ""
if busy:
    print(f"!! load average {load} > {max_load} (--force): the machine was busy;"
          " every figure below is suspect (*)")
print(f"{'figure':<48} {'median':>11} {'spread':>7}  {'floor/peer (same run)':<34} {'ratio':>6}")
for key in order:
    unit, vals = rows[key]
    m = med(key)
    spread = (max(vals) - min(vals)) / m * 100 if m else 0.0
    ref = ""
    ratio = ""
    for table in (REF, SEQ, PEER, IPROUTE2):
        r = table.get(key)
        if r and r in rows and med(r) > 0:
            ref += ("; " if ref else "") + f"{r} {med(r):.2f} {rows[r][0]}"
            ratio += ("/" if ratio else "") + f"{m / med(r):.2f}x"
    ref = ref or TARGET.get(key, "-")
    print(f"{key:<48} {m:>8.2f} {unit:<2} {spread:>6.1f}%  {ref:<34} {ratio or '-':>6}{flag}")
print(f"(median and spread over the repetitions; load average {load}, threshold {max_load})")
EOF

if [ -f "$OUT/cni_bench.txt" ]; then
  sed -n '/^Per command/,$p' "$OUT/cni_bench.txt"
fi

if [ "${#MISSING[@]}" -gt 0 ]; then
  echo "bench.sh: incomplete table, missing: ${MISSING[*]}" >&2
  exit 1
fi
