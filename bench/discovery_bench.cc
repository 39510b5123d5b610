// Times HostSnapshot::Discover on the scale fixture (E810-like PFs with 256
// VFs each, VFs on the next bus via ARI) at 256, 1024 and 2048 VFs. The tree
// is built once per size, outside the timed loop; the loop measures a cold
// Discover() over a warm page/dentry cache, as on a real host where sysfs is
// in memory.
//
//   discovery_bench --benchmark_repetitions=10
//       --benchmark_report_aggregates_only=true   (one command line)
#include <map>
#include <memory>

#include <benchmark/benchmark.h>

#include "lib/sysfs/host.h"
#include "tests/testing/fake_sysfs.h"
#include "tests/testing/temp_dir.h"

namespace {

struct Tree {
  sk::testing::FakeSysfsDir dir;
};

// Trees are cached per VF count for the life of the process.
const Tree& ScaleTree(int total_vfs) {
  static std::map<int, std::unique_ptr<Tree>> trees;
  auto& t = trees[total_vfs];
  if (!t) {
    t = std::make_unique<Tree>();
    sk::testing::FakeSysfsBuilder b(t->dir.path());
    sk::testing::AddScaleTree(b, total_vfs / 256, 256);
    b.WritePciIds();
  }
  return *t;
}

// Arg 0: VFs in the tree; arg 1: DiscoverOptions::threads (0 = automatic).
void BM_Discover(benchmark::State& state) {
  int total_vfs = static_cast<int>(state.range(0));
  const Tree& tree = ScaleTree(total_vfs);
  sk::sysfs::Sysfs fs(tree.dir.path());
  sk::sysfs::DiscoverOptions opts;
  opts.threads = static_cast<size_t>(state.range(1));
  size_t devices = 0;
  for (auto _ : state) {
    auto host = sk::sysfs::HostSnapshot::Discover(fs, opts);
    if (!host.ok()) {
      state.SkipWithError(std::string(host.status().message()).c_str());
      return;
    }
    devices = host->devices().size();
    benchmark::DoNotOptimize(devices);
  }
  if (devices != static_cast<size_t>(total_vfs + total_vfs / 256))
    state.SkipWithError("unexpected device count");
  state.counters["vfs"] = total_vfs;
  state.counters["us_per_vf"] =
      benchmark::Counter(static_cast<double>(total_vfs),
                         benchmark::Counter::kIsIterationInvariantRate |
                             benchmark::Counter::kInvert);
  state.SetComplexityN(total_vfs);
}
// Wall time is the figure of merit; CPU time counts all threads.
BENCHMARK(BM_Discover)
    ->ArgsProduct({{256, 1024, 2048}, {0}})
    ->ArgNames({"vfs", "threads"})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->Complexity(benchmark::oN);
// Single-threaded, to show the per-VF cost without parallelism.
BENCHMARK(BM_Discover)
    ->ArgsProduct({{256, 1024, 2048}, {1}})
    ->ArgNames({"vfs", "threads"})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->Complexity(benchmark::oN);

}  // namespace

BENCHMARK_MAIN();
