// The operations endpoint: its answers as pure functions, then over real
// HTTP (libcurl) against a daemon registering with KubeletStandIn.
#include "lib/deviceplugin/ops.h"

#include <fstream>
#include <thread>

#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/fake_sysfs.h"
#include "tests/testing/kubelet_stand_in.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::deviceplugin {
namespace {

using ::sk::testing::StatusIs;
using ::testing::HasSubstr;

constexpr absl::Duration kWait = absl::Seconds(5);

DaemonState TwoPools() {
  DaemonState st;
  st.config_loaded = true;
  PoolState a;
  a.resource_name = "intel.com/vfio";
  a.devices = 7;
  a.healthy = 6;
  a.registered = true;
  a.excluded = {{"no_driver", 1}, {"pf_has_vfs", 2}};
  PoolState b;
  b.resource_name = "intel.com/netdev";
  b.last_error = "kubelet.sock: connection refused";
  st.pools = {a, b};
  st.rediscoveries = 3;
  return st;
}

TEST(OpsTest, ReadyzNamesThePoolNotRegistered) {
  DaemonState st = TwoPools();
  OpsResponse r = HandleOps("GET", "/readyz", st, Metrics::Snapshot());
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body,
            "pool intel.com/netdev: not registered: kubelet.sock: connection "
            "refused\n");
  st.pools[1].registered = true;
  r = HandleOps("GET", "/readyz?verbose", st, Metrics::Snapshot());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
  st.node_wait = "waiting for /run/sriovkit/node-configured";
  st.config_error = "config.json: resourceList: expected an array, got 1";
  r = HandleOps("GET", "/readyz", st, Metrics::Snapshot());
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body,
            "node: waiting for /run/sriovkit/node-configured\n"
            "config: config.json: resourceList: expected an array, got 1\n");
}

TEST(OpsTest, HealthzUnknownPathsAndMethods) {
  DaemonState st;  // not even loaded: still alive
  EXPECT_EQ(HandleOps("GET", "/healthz", st, Metrics::Snapshot()).status, 200);
  EXPECT_EQ(HandleOps("GET", "/", st, Metrics::Snapshot()).status, 404);
  EXPECT_EQ(HandleOps("POST", "/healthz", st, Metrics::Snapshot()).status, 405);
  EXPECT_EQ(HandleOps("HEAD", "/metrics", st, Metrics::Snapshot()).status, 200);
}

TEST(OpsTest, MetricsTextHasEveryPoolSeries) {
  Metrics m;
  m.RecordAllocate("intel.com/vfio", 2, absl::Microseconds(700));
  m.RecordAllocate("intel.com/vfio", 1, absl::Milliseconds(30));
  m.RecordRediscovery(absl::Milliseconds(3));
  std::string text = RenderMetrics(TwoPools(), m.Get());
  for (const char* line : {
           "# TYPE sriovkit_dp_pool_devices gauge\n",
           "sriovkit_dp_ready 0\n",
           "sriovkit_dp_pool_devices{resource=\"intel.com/vfio\"} 7\n",
           "sriovkit_dp_pool_healthy_devices{resource=\"intel.com/vfio\"} 6\n",
           "sriovkit_dp_pool_registered{resource=\"intel.com/netdev\"} 0\n",
           "sriovkit_dp_pool_excluded_devices{resource=\"intel.com/vfio\","
           "reason=\"pf_has_vfs\"} 2\n",
           "sriovkit_dp_allocated_devices_total{resource=\"intel.com/vfio\"} "
           "3\n",
           "sriovkit_dp_allocated_devices_total{resource=\"intel.com/netdev\"} "
           "0\n",
           "sriovkit_dp_allocate_duration_seconds_bucket{resource=\"intel.com/"
           "vfio\",le=\"0.0005\"} 0\n",
           "sriovkit_dp_allocate_duration_seconds_bucket{resource=\"intel.com/"
           "vfio\",le=\"0.001\"} 1\n",
           "sriovkit_dp_allocate_duration_seconds_bucket{resource=\"intel.com/"
           "vfio\",le=\"0.025\"} 1\n",
           "sriovkit_dp_allocate_duration_seconds_bucket{resource=\"intel.com/"
           "vfio\",le=\"0.05\"} 2\n",
           "sriovkit_dp_allocate_duration_seconds_bucket{resource=\"intel.com/"
           "vfio\",le=\"+Inf\"} 2\n",
           "sriovkit_dp_allocate_duration_seconds_sum{resource=\"intel.com/"
           "vfio\"} 0.0307\n",
           "sriovkit_dp_allocate_duration_seconds_count{resource=\"intel.com/"
           "vfio\"} 2\n",
           "sriovkit_dp_rediscoveries_total 3\n",
           "sriovkit_dp_rediscovery_duration_seconds_bucket{le=\"0.005\"} 1\n",
           "sriovkit_dp_rediscovery_duration_seconds_count 1\n",
       }) {
    EXPECT_THAT(text, HasSubstr(line));
  }
}

TEST(OpsTest, OnlyLoopbackAddressesAreAccepted) {
  EXPECT_THAT(ParseLoopbackAddress("127.0.0.1:9808"), sk::testing::IsOk());
  EXPECT_THAT(ParseLoopbackAddress("[::1]:9808"), sk::testing::IsOk());
  EXPECT_THAT(ParseLoopbackAddress("0.0.0.0:9808"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("ops address \"0.0.0.0:9808\": not a "
                                 "loopback address")));
  EXPECT_THAT(ParseLoopbackAddress("localhost:9808"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not an IPv4 address")));
  EXPECT_THAT(ParseLoopbackAddress("127.0.0.1:70000"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("port must be 0-65535")));
  EXPECT_THAT(ParseLoopbackAddress("127.0.0.1"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("expected IP:PORT")));
}

struct HttpResult {
  long status = 0;
  std::string body;
};

size_t Collect(char* p, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

HttpResult Get(int port, const std::string& path) {
  HttpResult r;
  CURL* c = curl_easy_init();
  std::string url = "http://127.0.0.1:" + std::to_string(port) + path;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  if (curl_easy_perform(c) == CURLE_OK) {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  }
  curl_easy_cleanup(c);
  return r;
}

bool WaitFor(const std::function<bool()>& cond) {
  absl::Time end = absl::Now() + kWait;
  while (absl::Now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

// Real HTTP: not ready while kubelet is absent, ready once the pool
// registers, and Allocate shows up in /metrics.
TEST(OpsHttpTest, ReadinessFlipsWhenThePoolRegisters) {
  sk::testing::TempDir dir;
  sk::testing::FakeSysfsBuilder b(dir.path());
  sk::testing::FakeCardOptions o;
  o.vf_driver = "vfio-pci";
  auto pfs = sk::testing::AddIntel82576(b, o);
  ASSERT_TRUE(b.ok());
  std::filesystem::create_directories(dir.path() / "etc");
  std::ofstream(dir.path() / "etc/config.json")
      << R"({"resourceList":[{"resourceName":"vfio",
             "selectors":{"drivers":["vfio-pci"]}}]})";
  std::filesystem::create_directories(dir.path() / "dp");
  DaemonOptions opts;
  opts.config_file = (dir.path() / "etc/config.json").string();
  opts.sysfs_root = dir.path();
  opts.server.device_plugin_dir = dir.path() / "dp";
  opts.server.plugins_registry_dir = dir.path() / "reg";
  opts.server.service.devinfo_dir = dir.path() / "devinfo";
  opts.retry_interval = absl::Milliseconds(100);
  opts.metrics = std::make_shared<Metrics>();
  Daemon daemon(opts);
  SK_ASSERT_OK_AND_ASSIGN(
      auto ops,
      OpsServer::Start(
          "127.0.0.1:0", [&] { return daemon.GetState(); }, opts.metrics));
  ASSERT_GT(ops->port(), 0);
  absl::Status run;
  std::thread t([&] { run = daemon.Run(); });

  EXPECT_EQ(Get(ops->port(), "/healthz").status, 200);
  ASSERT_TRUE(WaitFor([&] {
    HttpResult r = Get(ops->port(), "/readyz");
    return r.status == 503 &&
           r.body.find("pool intel.com/vfio: not registered") !=
               std::string::npos;
  })) << Get(ops->port(), "/readyz").body;

  SK_ASSERT_OK_AND_ASSIGN(auto kubelet,
                          KubeletStandIn::StartLegacy(dir.path() / "dp"));
  ASSERT_TRUE(WaitFor([&] {
    HttpResult r = Get(ops->port(), "/readyz");
    return r.status == 200 && r.body == "ok\n";
  })) << Get(ops->port(), "/readyz").body;
  SK_ASSERT_OK_AND_ASSIGN(auto devs,
                          kubelet->WaitForDevices("intel.com/vfio", 14, kWait));
  EXPECT_EQ(devs.size(), 14u);
  SK_ASSERT_OK(kubelet->Allocate("intel.com/vfio", {pfs[0].vfs[0]}).status());

  HttpResult m = Get(ops->port(), "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_THAT(m.body, HasSubstr("sriovkit_dp_ready 1\n"));
  EXPECT_THAT(m.body,
              HasSubstr("sriovkit_dp_pool_devices{resource=\"intel.com/vfio\"} "
                        "14\n"));
  EXPECT_THAT(m.body, HasSubstr("sriovkit_dp_pool_excluded_devices{resource="
                                "\"intel.com/vfio\",reason=\"pf_has_vfs\"} "
                                "2\n"));
  EXPECT_THAT(m.body, HasSubstr("sriovkit_dp_allocated_devices_total{resource="
                                "\"intel.com/vfio\"} 1\n"));
  EXPECT_THAT(m.body, HasSubstr("sriovkit_dp_allocate_duration_seconds_count{"
                                "resource=\"intel.com/vfio\"} 1\n"));
  EXPECT_EQ(Get(ops->port(), "/nope").status, 404);

  daemon.Shutdown();
  t.join();
  EXPECT_THAT(run, sk::testing::IsOk());
}

TEST(OpsHttpTest, BadOrBusyAddressIsRefused) {
  auto state = [] { return DaemonState{}; };
  EXPECT_THAT(OpsServer::Start("10.0.0.1:9808", state, nullptr).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  SK_ASSERT_OK_AND_ASSIGN(auto a,
                          OpsServer::Start("127.0.0.1:0", state, nullptr));
  std::string busy = "127.0.0.1:" + std::to_string(a->port());
  EXPECT_THAT(OpsServer::Start(busy, state, nullptr).status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(busy)));
}

}  // namespace
}  // namespace sk::deviceplugin
