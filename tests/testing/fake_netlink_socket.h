#pragma once

// FakeNetlinkSocket: records every request and answers from a script.
//
// Answers, in priority order:
//   1. the next scripted reply pushed with PushReply/PushError (FIFO);
//   2. otherwise the handler set with set_handler (a small model of the
//      kernel, e.g. a PF with VF state);
//   3. otherwise an empty success (an ACK).
//
// Header-only so sk::testing does not depend on sk::netlink; link
// sk::netlink in tests that include it.

#include <deque>
#include <functional>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

#include "lib/netlink/socket.h"

namespace sk::testing {

class FakeNetlinkSocket : public netlink::Socket {
 public:
  using Reply = absl::StatusOr<std::vector<netlink::Message>>;
  using Handler = std::function<Reply(const netlink::Message&)>;

  Reply Transact(const netlink::Message& request) override {
    requests_.push_back(request);
    if (!script_.empty()) {
      // Scripted entries are kept as (status, messages) rather than StatusOr:
      // g++ 12 warns (maybe-uninitialized) on moving a StatusOr<vector>.
      Scripted r = std::move(script_.front());
      script_.pop_front();
      if (!r.status.ok()) return r.status;
      return std::move(r.msgs);
    }
    if (handler_) return handler_(request);
    return std::vector<netlink::Message>{};
  }

  void PushReply(std::vector<netlink::Message> msgs) {
    script_.push_back(Scripted{absl::OkStatus(), std::move(msgs)});
  }
  void PushError(absl::Status s) {
    script_.push_back(Scripted{std::move(s), {}});
  }
  void set_handler(Handler h) { handler_ = std::move(h); }
  const std::vector<netlink::Message>& requests() const { return requests_; }
  void ClearRequests() { requests_.clear(); }

 private:
  struct Scripted {
    absl::Status status;
    std::vector<netlink::Message> msgs;
  };
  std::deque<Scripted> script_;
  Handler handler_;
  std::vector<netlink::Message> requests_;
};

}  // namespace sk::testing
