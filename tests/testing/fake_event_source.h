#pragma once
// FakeEventSource: the kernel-event seam (lib/deviceplugin/events.h) for
// tests. Inject() queues events a kernel would send and makes fd() readable.
// Link events go through a real LinkTracker, as the rtnetlink source's do:
// SeedLink() is the dump at start, InjectLink() a kernel notification (only
// a change pools depend on becomes an event).
// Thread-safe: Inject from the test thread while the daemon drains.

#include <sys/eventfd.h>
#include <unistd.h>

#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "lib/base/unique_fd.h"
#include "lib/deviceplugin/events.h"

namespace sk::deviceplugin::testing {

class FakeEventSource final : public EventSource {
 public:
  FakeEventSource() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  int fd() const override { return fd_.get(); }
  std::vector<DeviceEvent> Drain() override {
    uint64_t v;
    ssize_t n = ::read(fd_.get(), &v, sizeof(v));
    (void)n;
    std::lock_guard<std::mutex> l(mu_);
    std::vector<DeviceEvent> out;
    for (auto& e : queue_) {
      if (AffectsPools(e)) out.push_back(std::move(e));
    }
    queue_.clear();
    return out;
  }
  void Inject(DeviceEvent ev) {
    {
      std::lock_guard<std::mutex> l(mu_);
      queue_.push_back(std::move(ev));
    }
    uint64_t one = 1;
    ssize_t n = ::write(fd_.get(), &one, sizeof(one));
    (void)n;
  }
  void SeedLink(const LinkMessage& m) {
    std::lock_guard<std::mutex> l(link_mu_);
    links_.Seed(m);
  }
  // False when the tracker made no event of it (nothing pools depend on).
  bool InjectLink(const LinkMessage& m) {
    std::optional<DeviceEvent> ev;
    {
      std::lock_guard<std::mutex> l(link_mu_);
      ev = links_.Update(m);
    }
    if (ev) Inject(*std::move(ev));
    return ev.has_value();
  }
  // The event the kernel sends for `action` on PCI function `bdf`.
  void InjectPci(const std::string& action, const std::string& bdf) {
    DeviceEvent ev;
    ev.action = action;
    ev.devpath = "/devices/pci0000:00/" + bdf;
    ev.subsystem = "pci";
    ev.env["SUBSYSTEM"] = "pci";
    ev.env["PCI_SLOT_NAME"] = bdf;
    Inject(std::move(ev));
  }

 private:
  UniqueFd fd_;
  std::mutex mu_;
  std::deque<DeviceEvent> queue_;
  std::mutex link_mu_;
  LinkTracker links_{/*include_virtual=*/false};
};

}  // namespace sk::deviceplugin::testing
