#pragma once

// An explicit undo log for a multi-step operation (the plugin's ADD): each
// step that changed something pushes its inverse right after it succeeded
// (or, when a failed attempt may still have changed something, right
// before it), and a failure later on runs the log backwards.
//
//   UndoLog undo;
//   SK_RETURN_IF_ERROR(ops.SetVf(pf, kVlan, want));
//   undo.Push("pf:vlan", [&] { return ops.SetVf(pf, kVlan, orig); });
//   ...
//   if (!s.ok()) absl::Status rb = undo.Rollback();
//
// A step whose inverse supersedes the previous one (a netdev renamed, then
// moved: moving it back also renames it) Pop()s that one and pushes its own.
// Not thread-safe.

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace sk::cni {

class UndoLog {
 public:
  using Undo = std::function<absl::Status()>;

  void Push(std::string name, Undo undo);
  // Drops the most recent inverse (no-op on an empty log).
  void Pop();
  // Step names, oldest first.
  std::vector<std::string> names() const;
  bool empty() const { return steps_.empty(); }

  // Runs every inverse, newest first, keeping going after a failure, and
  // empties the log. Returns the first error (OK when all succeeded).
  absl::Status Rollback();
  // While Rollback runs: the first error so far, so a step that only makes
  // sense after the ones before it succeeded can skip itself.
  const absl::Status& first_error() const { return first_; }

 private:
  struct Step {
    std::string name;
    Undo undo;
  };
  std::vector<Step> steps_;
  absl::Status first_;
};

}  // namespace sk::cni
