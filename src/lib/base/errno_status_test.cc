#include "lib/base/errno_status.h"

#include <cerrno>

#include "lib/base/exit_code.h"
#include "lib/base/status_macros.h"
#include "tests/testing/status_matchers.h"

namespace sk {
namespace {

using ::sk::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ErrnoStatusTest, MapsCodeAndKeepsContext) {
  absl::Status s = ErrnoStatus(ENOENT, "open ", "/sys/x");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kNotFound,
                          HasSubstr("open /sys/x: No such file")));
  EXPECT_THAT(ErrnoStatus(EAGAIN, "bind"),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(ErrnoStatus(EPERM, "x"),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST(ErrnoStatusTest, SymlinkLoopIsNotFoundNotUnknown) {
  absl::Status s = ErrnoStatus(ELOOP, "open ", "/r/sys/bus/pci/devices");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kNotFound,
                          "open /r/sys/bus/pci/devices: Too many levels of "
                          "symbolic links"));
  EXPECT_EQ(ExitCodeForStatus(s), kExitNoInput);
}

TEST(ErrnoStatusTest, AnnotatePrefixesAndKeepsCode) {
  absl::Status s =
      Annotate(absl::InvalidArgumentError("bad vlan"), "eth3 vf 2");
  EXPECT_THAT(
      s, StatusIs(absl::StatusCode::kInvalidArgument, "eth3 vf 2: bad vlan"));
  EXPECT_TRUE(Annotate(absl::OkStatus(), "x").ok());
}

absl::StatusOr<int> Half(int v) {
  if (v % 2) return absl::InvalidArgumentError("odd");
  return v / 2;
}
absl::StatusOr<int> Quarter(int v) {
  SK_ASSIGN_OR_RETURN(int h, Half(v));
  SK_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}
absl::Status CheckEven(int v) {
  SK_RETURN_IF_ERROR(Half(v).status());
  return absl::OkStatus();
}

TEST(StatusMacrosTest, Propagate) {
  EXPECT_THAT(Quarter(8), ::sk::testing::IsOkAndHolds(2));
  EXPECT_THAT(Quarter(6), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CheckEven(3), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CheckEven(4), ::sk::testing::IsOk());
}

TEST(StatusMacrosTest, CheckAbortsOnBug) {
  EXPECT_DEATH({ SK_CHECK(1 == 2) << "math broke"; },
               "check failed: 1 == 2 math broke");
}

TEST(ExitCodeTest, MapsCodes) {
  EXPECT_EQ(ExitCodeForStatus(absl::OkStatus()), 0);
  EXPECT_EQ(ExitCodeForStatus(absl::InvalidArgumentError("")), kExitDataErr);
  EXPECT_EQ(ExitCodeForStatus(absl::NotFoundError("")), kExitNoInput);
  EXPECT_EQ(ExitCodeForStatus(absl::UnavailableError("")), kExitUnavailable);
  EXPECT_EQ(ExitCodeForStatus(absl::FailedPreconditionError("")), kExitConfig);
  EXPECT_EQ(ExitCodeForStatus(absl::InternalError("")), kExitSoftware);
}

}  // namespace
}  // namespace sk
