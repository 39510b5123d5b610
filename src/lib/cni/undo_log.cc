#include "lib/cni/undo_log.h"

#include <utility>

namespace sk::cni {

void UndoLog::Push(std::string name, Undo undo) {
  steps_.push_back({std::move(name), std::move(undo)});
}

void UndoLog::Pop() {
  if (!steps_.empty()) steps_.pop_back();
}

std::vector<std::string> UndoLog::names() const {
  std::vector<std::string> out;
  for (const Step& s : steps_) out.push_back(s.name);
  return out;
}

absl::Status UndoLog::Rollback() {
  first_ = absl::OkStatus();
  std::vector<Step> steps = std::move(steps_);
  steps_.clear();
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    absl::Status s = it->undo();
    if (first_.ok() && !s.ok()) first_ = std::move(s);
  }
  return first_;
}

}  // namespace sk::cni
