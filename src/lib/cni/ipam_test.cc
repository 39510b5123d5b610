#include "lib/cni/ipam.h"

#include <sys/stat.h>

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "lib/cni/error.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::cni {
namespace {

using ::sk::testing::IsOkAndHolds;
using ::sk::testing::StatusIs;
using ::testing::HasSubstr;

// A stand-in IPAM plugin: a shell script named `name` in a temp CNI_PATH.
class IpamExecTest : public ::testing::Test {
 protected:
  void Plugin(const std::string& name, const std::string& body) {
    auto p = dir_ / name;
    std::ofstream(p) << "#!/bin/sh\ncat >/dev/null\n" << body << "\n";
    ASSERT_EQ(::chmod(p.c_str(), 0755), 0);
    env_.command = Command::kAdd;
    env_.path = {dir_.path().string()};
  }
  absl::StatusOr<std::string> Run(const std::string& name) {
    return ExecIpamDelegate().Run(name, Command::kAdd, env_, R"({"a":1})");
  }

  sk::testing::TempDir dir_;
  CniEnv env_;
};

TEST_F(IpamExecTest, ReturnsOutputUpToTheLimit) {
  Plugin("ok", "printf '{\"cniVersion\":\"1.0.0\"}'");
  EXPECT_THAT(Run("ok"), IsOkAndHolds(R"({"cniVersion":"1.0.0"})"));
}

TEST_F(IpamExecTest, OutputOverOneMebibyteIsRefusedAndTheDelegateReaped) {
  // Endless output: without a cap this grows until the node runs out.
  Plugin("flood", "exec yes aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  absl::StatusOr<std::string> out = Run("flood");
  EXPECT_EQ(CniCodeOf(out.status()), kCniInvalidConfig);
  EXPECT_THAT(out.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "IPAM plugin flood output: more than 1048576 bytes"));
}

TEST_F(IpamExecTest, AHungDelegateIsKilledAtTheTimeoutWithCode11) {
  Plugin("hangs", "sleep 30 & wait");
  absl::StatusOr<std::string> out =
      ExecIpamDelegate(absl::Milliseconds(300))
          .Run("hangs", Command::kAdd, env_, R"({"a":1})");
  EXPECT_EQ(CniCodeOf(out.status()), kCniTryAgainLater);
  EXPECT_THAT(out.status(),
              StatusIs(absl::StatusCode::kUnavailable,
                       "IPAM plugin hangs: no answer within 300ms; killed"));
}

TEST_F(IpamExecTest, DelegateErrorKeepsItsCodeAndIgnoresNonStringFields) {
  Plugin("fails",
         "printf '{\"code\":11,\"msg\":\"busy\",\"details\":[1]}'; exit 1");
  absl::StatusOr<std::string> out = Run("fails");
  EXPECT_EQ(CniCodeOf(out.status()), 11);
  EXPECT_THAT(out.status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("busy")));
}

TEST_F(IpamExecTest, DeeplyNestedErrorOutputIsNotParsedAsAnError) {
  Plugin("deep",
         "awk 'BEGIN{for(i=0;i<100000;i++)printf \"[\";"
         "for(i=0;i<100000;i++)printf \"]\"}'; exit 1");
  absl::StatusOr<std::string> out = Run("deep");
  EXPECT_EQ(CniCodeOf(out.status()), kCniInternal);
  EXPECT_THAT(out.status(), StatusIs(absl::StatusCode::kInternal,
                                     HasSubstr("IPAM plugin deep failed")));
}

}  // namespace
}  // namespace sk::cni
