#include "lib/ctl/install_cni_cmd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::ctl {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

void Write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

std::string Read(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

struct stat Stat(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st;
}

class InstallCniTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Write(tmp_ / "src/sriov", "sriov binary v1");
    Write(tmp_ / "src/sriov-netattach", "shim binary v1");
    Write(tmp_ / "src/sriov-netattach-full", "full shim binary v1");
    Write(tmp_ / "sa/token", "tok-123\n");
    Write(tmp_ / "sa/ca.crt", "CA PEM");
    Write(
        tmp_ / "net.d/10-flannel.conflist",
        R"({"cniVersion":"0.3.1","name":"cbr0","plugins":[{"type":"flannel"},)"
        R"({"type":"portmap","capabilities":{"portMappings":true}}]})");
    Write(tmp_ / "net.d/99-other.conf",
          R"({"cniVersion":"1.0.0","name":"other","type":"bridge"})");
    o_.source_dir = tmp_ / "src";
    o_.bin_dir = tmp_ / "bin";
    o_.conf_dir = tmp_ / "net.d";
    o_.service_account_dir = tmp_ / "sa";
    o_.api_host = "10.96.0.1";
    o_.api_port = "443";
  }
  sk::testing::TempDir tmp_;
  InstallCniOptions o_;
};

TEST_F(InstallCniTest, InstallsBinariesConfigAndKubeconfig) {
  SK_ASSERT_OK_AND_ASSIGN(InstallCniReport r, InstallCni(o_));
  EXPECT_EQ(r.installed.size(), 5u);
  EXPECT_THAT(r.unchanged, IsEmpty());
  EXPECT_EQ(r.cluster_network, (tmp_ / "net.d/10-flannel.conflist").string());

  EXPECT_EQ(Read(tmp_ / "bin/sriov"), "sriov binary v1");
  EXPECT_EQ(Read(tmp_ / "bin/sriov-netattach"), "shim binary v1");
  EXPECT_EQ(Read(tmp_ / "bin/sriov-netattach-full"), "full shim binary v1");
  EXPECT_EQ(Stat(tmp_ / "bin/sriov").st_mode & 07777, 0755u);

  auto conf = nlohmann::json::parse(
      Read(tmp_ / "net.d/00-sriovkit-netattach.conflist"));
  EXPECT_EQ(conf["cniVersion"], "0.3.1");  // the cluster network's
  EXPECT_EQ(conf["name"], "multus-cni-network");
  ASSERT_EQ(conf["plugins"].size(), 1u);
  const auto& p = conf["plugins"][0];
  EXPECT_EQ(p["type"], "sriov-netattach");
  EXPECT_EQ(p["delegates"][0]["name"], "cbr0");
  EXPECT_EQ(p["capabilities"], nlohmann::json({{"portMappings", true}}));
  const fs::path kc =
      tmp_ / "net.d/sriovkit-netattach.d/sriovkit-netattach.kubeconfig";
  EXPECT_EQ(p["kubeconfig"], kc.string());

  EXPECT_EQ(Stat(kc).st_mode & 07777, 0600u);
  std::string k = Read(kc);
  EXPECT_THAT(k, HasSubstr("server: https://10.96.0.1:443\n"));
  EXPECT_THAT(k, HasSubstr("certificate-authority-data: Q0EgUEVN\n"));
  EXPECT_THAT(k, HasSubstr("token: \"tok-123\"\n"));
}

TEST_F(InstallCniTest, SecondRunChangesNothing) {
  SK_ASSERT_OK(InstallCni(o_).status());
  const ino_t bin_ino = Stat(tmp_ / "bin/sriov").st_ino;
  const ino_t conf_ino =
      Stat(tmp_ / "net.d/00-sriovkit-netattach.conflist").st_ino;
  SK_ASSERT_OK_AND_ASSIGN(InstallCniReport r, InstallCni(o_));
  EXPECT_THAT(r.installed, IsEmpty());
  EXPECT_EQ(r.unchanged.size(), 5u);
  EXPECT_EQ(Stat(tmp_ / "bin/sriov").st_ino, bin_ino);
  EXPECT_EQ(Stat(tmp_ / "net.d/00-sriovkit-netattach.conflist").st_ino,
            conf_ino);
}

// An update renames a new inode into place: a plugin being executed (an
// open descriptor on the old file) still sees the old bytes.
TEST_F(InstallCniTest, UpdateNeverChangesAFileInUse) {
  SK_ASSERT_OK(InstallCni(o_).status());
  int fd = ::open((tmp_ / "bin/sriov").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  Write(tmp_ / "src/sriov", "sriov binary v2");
  SK_ASSERT_OK_AND_ASSIGN(InstallCniReport r, InstallCni(o_));
  EXPECT_THAT(r.installed, ElementsAre((tmp_ / "bin/sriov").string()));
  char buf[64] = {};
  ssize_t n = ::pread(fd, buf, sizeof(buf), 0);
  ::close(fd);
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "sriov binary v1");
  EXPECT_EQ(Read(tmp_ / "bin/sriov"), "sriov binary v2");
  for (const auto& e : fs::directory_iterator(tmp_ / "bin"))
    EXPECT_THAT(e.path().filename().string(), ::testing::Not(HasSubstr("tmp")));
}

TEST_F(InstallCniTest, SymlinkAtDestinationIsReplacedNotFollowed) {
  Write(tmp_ / "outside", "precious");
  fs::create_directories(tmp_ / "bin");
  fs::create_symlink(tmp_ / "outside", tmp_ / "bin/sriov");
  SK_ASSERT_OK(InstallCni(o_).status());
  EXPECT_EQ(Read(tmp_ / "outside"), "precious");
  EXPECT_TRUE(S_ISREG(Stat(tmp_ / "bin/sriov").st_mode));
}

TEST_F(InstallCniTest, NoClusterNetworkYetIsUnavailable) {
  fs::remove(tmp_ / "net.d/10-flannel.conflist");
  fs::remove(tmp_ / "net.d/99-other.conf");
  auto r = InstallCni(o_);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr((tmp_ / "net.d").string()));
}

TEST_F(InstallCniTest, OwnConfigIsNeverTheClusterNetwork) {
  SK_ASSERT_OK(InstallCni(o_).status());
  fs::remove(tmp_ / "net.d/10-flannel.conflist");
  SK_ASSERT_OK_AND_ASSIGN(InstallCniReport r, InstallCni(o_));
  EXPECT_EQ(r.cluster_network, (tmp_ / "net.d/99-other.conf").string());
}

TEST_F(InstallCniTest, BadInputsNameTheirSource) {
  InstallCniOptions rel = o_;
  rel.bin_dir = "relative/bin";
  EXPECT_THAT(InstallCni(rel).status().message(), HasSubstr("relative/bin"));

  InstallCniOptions missing = o_;
  missing.source_dir = tmp_ / "nope";
  EXPECT_THAT(InstallCni(missing).status().message(), HasSubstr("nope/sriov"));

  InstallCniOptions no_api = o_;
  no_api.api_host.clear();
  EXPECT_THAT(InstallCni(no_api).status().message(),
              HasSubstr("KUBERNETES_SERVICE_HOST"));

  Write(tmp_ / "net.d/10-flannel.conflist", "{not json");
  auto bad = InstallCni(o_);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("10-flannel.conflist"));
}

// In the DaemonSet the host's /etc/cni/net.d is /host/etc/cni/net.d: the
// conflist names the kubeconfig by its host path.
TEST_F(InstallCniTest, ConflistNamesTheKubeconfigsHostPath) {
  o_.kubeconfig_host_path = "/etc/cni/net.d/sriovkit-netattach.d/k";
  SK_ASSERT_OK(InstallCni(o_).status());
  auto conf = nlohmann::json::parse(
      Read(tmp_ / "net.d/00-sriovkit-netattach.conflist"));
  EXPECT_EQ(conf["plugins"][0]["kubeconfig"],
            "/etc/cni/net.d/sriovkit-netattach.d/k");
  EXPECT_TRUE(fs::exists(tmp_ / "net.d/sriovkit-netattach.d/"
                                "sriovkit-netattach.kubeconfig"));
}

TEST_F(InstallCniTest, BinariesOnlyWithoutConfDir) {
  o_.conf_dir.clear();
  o_.api_host.clear();
  SK_ASSERT_OK_AND_ASSIGN(InstallCniReport r, InstallCni(o_));
  EXPECT_EQ(r.installed.size(), 3u);
}

}  // namespace
}  // namespace sk::ctl
