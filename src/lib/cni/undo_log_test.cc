#include "lib/cni/undo_log.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sk::cni {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(UndoLogTest, RollsBackNewestFirstKeepingGoingAndReturnsTheFirstError) {
  UndoLog undo;
  std::vector<std::string> ran;
  undo.Push("a", [&] {
    ran.push_back("a");
    return absl::InternalError("a failed");
  });
  undo.Push("b", [&] {
    ran.push_back("b");
    return absl::UnavailableError("b failed");
  });
  undo.Push("c", [&] {
    ran.push_back("c");
    return absl::OkStatus();
  });
  EXPECT_THAT(undo.names(), ElementsAre("a", "b", "c"));
  EXPECT_EQ(undo.Rollback(), absl::UnavailableError("b failed"));
  EXPECT_THAT(ran, ElementsAre("c", "b", "a"));
  EXPECT_TRUE(undo.empty());
  EXPECT_TRUE(undo.Rollback().ok());
}

TEST(UndoLogTest, PopDropsTheNewestAndStepsSeeTheFirstError) {
  UndoLog undo;
  std::vector<std::string> ran;
  undo.Push("skipped after an error", [&] {
    if (!undo.first_error().ok()) return absl::OkStatus();
    ran.push_back("first");
    return absl::OkStatus();
  });
  undo.Push("superseded", [&] {
    ran.push_back("superseded");
    return absl::OkStatus();
  });
  undo.Pop();
  undo.Push("fails", [] { return absl::InternalError("x"); });
  EXPECT_EQ(undo.Rollback(), absl::InternalError("x"));
  EXPECT_THAT(ran, IsEmpty());
}

}  // namespace
}  // namespace sk::cni
