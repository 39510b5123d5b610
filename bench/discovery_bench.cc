// Times HostSnapshot::Discover on the scale fixture (E810-like PFs with 256
// VFs each, VFs on the next bus via ARI) at 256, 1024 and 2048 VFs. The tree
// is built once per size, outside the timed loop; the loop measures a cold
// Discover() over a warm page/dentry cache, as on a real host where sysfs is
// in memory.
//
//   discovery_bench --benchmark_repetitions=10
//       --benchmark_report_aggregates_only=true   (one command line)
#include <dirent.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

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

// The same tree read with discovery's options for the device plugin
// (details = false: VF netdevs give name and link type only).
void BM_DiscoverLean(benchmark::State& state) {
  int total_vfs = static_cast<int>(state.range(0));
  const Tree& tree = ScaleTree(total_vfs);
  sk::sysfs::Sysfs fs(tree.dir.path());
  sk::sysfs::DiscoverOptions opts;
  opts.threads = static_cast<size_t>(state.range(1));
  opts.resolve_names = false;
  opts.details = false;
  for (auto _ : state) {
    auto host = sk::sysfs::HostSnapshot::Discover(fs, opts);
    if (!host.ok() || host->devices().size() !=
                          static_cast<size_t>(total_vfs + total_vfs / 256)) {
      state.SkipWithError("discovery failed");
      return;
    }
  }
  state.counters["vfs"] = total_vfs;
}
BENCHMARK(BM_DiscoverLean)
    ->ArgsProduct({{2048}, {0, 1}})
    ->ArgNames({"vfs", "threads"})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

// The peer: the kernel's floor for the same tree, single-threaded. Exactly
// the syscalls a full discovery makes per device (open the device directory;
// read uevent and numa_node; readlink iommu_group and physfn; try acpi_index
// and, for non-VFs, sriov_totalvfs; list net/; per netdev read its six
// attributes; for PFs list the directory and readlink every virtfn), with no
// parsing, no allocation per file and no thread. Discover(threads=1) minus
// this is what the library itself costs.
int ReadAt(int dirfd, const char* name) {
  int fd = ::openat(dirfd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[4096];
  ssize_t n = ::read(fd, buf, sizeof(buf));
  ::close(fd);
  return n < 0 ? -1 : 0;
}
template <typename F>
void ListAt(int dirfd, const char* name, F each) {
  int fd = ::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  alignas(8) char buf[32768];
  long n;
  while ((n = ::syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
    for (long off = 0; off < n;) {
      auto* e = reinterpret_cast<struct dirent64*>(buf + off);
      off += e->d_reclen;
      if (e->d_name[0] != '.') each(e->d_name);
    }
  }
  ::close(fd);
}

void BM_SyscallFloor(benchmark::State& state) {
  int total_vfs = static_cast<int>(state.range(0));
  const Tree& tree = ScaleTree(total_vfs);
  std::string bus = (tree.dir.path() / "sys/bus/pci/devices").string();
  int bus_fd = ::open(bus.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (bus_fd < 0) {
    state.SkipWithError("cannot open the bus directory");
    return;
  }
  static const char* const kNetAttrs[] = {
      "type",      "address",        "mtu",
      "operstate", "phys_port_name", "phys_switch_id"};
  size_t devices = 0;
  for (auto _ : state) {
    devices = 0;
    std::vector<std::string> entries;
    ListAt(bus_fd, ".", [&](const char* n) { entries.emplace_back(n); });
    char link[4096];
    for (const std::string& e : entries) {
      int d = ::openat(bus_fd, e.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (d < 0) continue;
      ++devices;
      ReadAt(d, "uevent");
      ReadAt(d, "numa_node");
      benchmark::DoNotOptimize(
          ::readlinkat(d, "iommu_group", link, sizeof(link)));
      ReadAt(d, "acpi_index");
      bool vf = ::readlinkat(d, "physfn", link, sizeof(link)) > 0;
      bool pf = !vf && ReadAt(d, "sriov_totalvfs") == 0;
      std::vector<std::string> nets;
      ListAt(d, "net", [&](const char* n) { nets.emplace_back(n); });
      for (const std::string& n : nets) {
        for (const char* a : kNetAttrs)
          ReadAt(d, ("net/" + n + "/" + a).c_str());
      }
      if (pf) {
        ReadAt(d, "sriov_numvfs");
        ListAt(bus_fd, e.c_str(), [&](const char* n) {
          if (std::string_view(n).substr(0, 6) == "virtfn")
            benchmark::DoNotOptimize(::readlinkat(d, n, link, sizeof(link)));
        });
      }
      ::close(d);
    }
  }
  ::close(bus_fd);
  if (devices != static_cast<size_t>(total_vfs + total_vfs / 256))
    state.SkipWithError("unexpected device count");
  state.counters["vfs"] = total_vfs;
}
BENCHMARK(BM_SyscallFloor)
    ->Arg(2048)
    ->ArgName("vfs")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
