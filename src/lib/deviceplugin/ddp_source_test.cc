#include "lib/deviceplugin/ddp_source.h"

#include <linux/devlink.h>
#include <linux/genetlink.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/fake_netlink_socket.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::deviceplugin {
namespace {

using ::sk::testing::IsOkAndHolds;
using ::sk::testing::StatusIs;
using ::testing::HasSubstr;

// Sets an environment variable for one test and restores it after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = ::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class DdptoolTest : public ::testing::Test {
 protected:
  DdptoolDdpSource Source(absl::Duration timeout = absl::Seconds(5)) {
    DdptoolOptions o;
    o.program = SK_DDPTOOL_STAND_IN;
    o.timeout = timeout;
    o.max_output = 64 << 10;
    return DdptoolDdpSource(nullptr, o);
  }
  sk::testing::TempDir dir_;
  ScopedEnv args_{"SK_DDPTOOL_STAND_IN_ARGS", (dir_ / "args").string()};
};

TEST_F(DdptoolTest, ProfileNameComesFromDdptoolJson) {
  ScopedEnv mode("SK_DDPTOOL_STAND_IN_MODE", "profile");
  ScopedEnv name("SK_DDPTOOL_STAND_IN_NAME", "ICE COMMS Package");
  EXPECT_THAT(Source().Profile("0000:3b:00.0"),
              IsOkAndHolds(std::string("ICE COMMS Package")));
  EXPECT_EQ(Slurp(dir_ / "args"), "-l -a -j -s 0000:3b:00.0\n");
}

TEST_F(DdptoolTest, ExitCodeEightIsNoProfile) {
  ScopedEnv mode("SK_DDPTOOL_STAND_IN_MODE", "none");
  EXPECT_THAT(Source().Profile("0000:3b:00.0"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("exit code 8")));
}

TEST_F(DdptoolTest, FailureAndBadOutputAreErrors) {
  {
    ScopedEnv mode("SK_DDPTOOL_STAND_IN_MODE", "fail");
    EXPECT_THAT(Source().Profile("0000:3b:00.0"),
                StatusIs(absl::StatusCode::kUnknown, HasSubstr("exit code 1")));
  }
  {
    ScopedEnv mode("SK_DDPTOOL_STAND_IN_MODE", "garbage");
    EXPECT_THAT(Source().Profile("0000:3b:00.0"),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("0000:3b:00.0")));
  }
  {
    ScopedEnv mode("SK_DDPTOOL_STAND_IN_MODE", "flood");
    EXPECT_THAT(Source().Profile("0000:3b:00.0"),
                StatusIs(absl::StatusCode::kResourceExhausted,
                         HasSubstr("output exceeds the 65536-byte limit")));
  }
}

TEST_F(DdptoolTest, AHangingDdptoolIsKilledAtTheTimeout) {
  ScopedEnv mode("SK_DDPTOOL_STAND_IN_MODE", "hang");
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_THAT(
      Source(absl::Milliseconds(200)).Profile("0000:3b:00.0"),
      StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("killed")));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

// ddptool is looked up on PATH; when it is not installed a device has no
// profile, and that is NotFound (no profile), not a failure.
TEST_F(DdptoolTest, FoundOnPathAndAbsentMeansNoProfile) {
  ScopedEnv mode("SK_DDPTOOL_STAND_IN_MODE", "profile");
  ScopedEnv name("SK_DDPTOOL_STAND_IN_NAME", "ICE OS Default Package");
  std::filesystem::create_directories(dir_ / "bin");
  std::filesystem::create_symlink(SK_DDPTOOL_STAND_IN, dir_ / "bin/ddptool");
  DdptoolDdpSource src(nullptr, DdptoolOptions{});  // "ddptool" on PATH
  {
    ScopedEnv path("PATH", (dir_ / "bin").string());
    EXPECT_THAT(src.Profile("0000:5e:00.0"),
                IsOkAndHolds(std::string("ICE OS Default Package")));
  }
  std::filesystem::create_directories(dir_ / "empty");
  ScopedEnv path("PATH", (dir_ / "empty").string());
  EXPECT_THAT(src.Profile("0000:5e:00.0"),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("ddptool not installed")));
  // And through DdpProfileOf (VF, then PF): simply no profile.
  EXPECT_EQ(DdpProfileOf(src, "0000:5f:00.0", "0000:5e:00.0"), "");
}

// devlink dev info "fw.app.name" first: ddptool does not run.
TEST_F(DdptoolTest, DevlinkFwAppNameComesFirst) {
  auto sock = std::make_unique<sk::testing::FakeNetlinkSocket>();
  sock->set_handler(
      [](const netlink::Message& req) -> sk::testing::FakeNetlinkSocket::Reply {
        netlink::MessageBuilder b(
            req.type() == GENL_ID_CTRL ? GENL_ID_CTRL : 0x15, 0);
        genlmsghdr g{};
        b.PutHeader(g);
        if (req.type() == GENL_ID_CTRL) {
          b.PutU16(CTRL_ATTR_FAMILY_ID, 0x15);
        } else {
          size_t n = b.BeginNested(DEVLINK_ATTR_INFO_VERSION_RUNNING);
          b.PutString(DEVLINK_ATTR_INFO_VERSION_NAME, "fw.app.name");
          b.PutString(DEVLINK_ATTR_INFO_VERSION_VALUE, "ICE COMMS Package");
          b.EndNested(n);
        }
        return std::vector<netlink::Message>{std::move(b).Build()};
      });
  DdptoolOptions o;
  o.program = SK_DDPTOOL_STAND_IN;
  DdptoolDdpSource src(std::make_shared<DevlinkClient>(std::move(sock)), o);
  EXPECT_THAT(src.Profile("0000:3b:00.0"),
              IsOkAndHolds(std::string("ICE COMMS Package")));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "args"));
}

}  // namespace
}  // namespace sk::deviceplugin
