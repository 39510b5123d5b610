#pragma once
// Informer: a watch cache of one collection, as client-go's reflector +
// store: LIST (paginated) then WATCH from the list's resourceVersion with
// bookmarks, in its own thread. The store is keyed "namespace/name" (or
// "name" for cluster-scoped objects). A 410 Gone (resourceVersion too old)
// relists and converges the store, deletions missed in the gap included;
// other errors back off exponentially (bounded) and retry.
//
//   InformerOptions opts;
//   opts.path = "/api/v1/pods";
//   opts.field_selector = "spec.nodeName=" + node;
//   Informer pods(client, opts);
//   pods.Start();
//   if (!pods.WaitForSync(std::chrono::seconds(30))) ...;
//   std::optional<nlohmann::json> pod = pods.Get("default", "p1");
//   pods.Stop();
//
// Thread-safe.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"

#include "lib/base/clock.h"
#include "lib/kube/client.h"

namespace sk::kube {

struct InformerOptions {
  // The collection, e.g. "/api/v1/pods" or
  // "/apis/k8s.cni.cncf.io/v1/network-attachment-definitions".
  std::string path;
  std::string field_selector;
  std::string label_selector;
  int64_t page_size = 500;
  // Each WATCH asks the server to end it after this long (then re-watches).
  int watch_timeout_seconds = 300;
  // Backoff after a failed LIST or WATCH, doubling up to max.
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{30000};
  Clock* clock = &RealClock();
  // Called from the informer's thread for every change the store sees:
  // ADDED, MODIFIED, DELETED (also for changes a relist discovers).
  std::function<void(const WatchEvent&)> on_event;
  // Called from the informer's thread for every LIST/WATCH error.
  std::function<void(const absl::Status&)> on_error;
};

class Informer {
 public:
  Informer(Client& client, InformerOptions options);
  ~Informer();  // Stop()s
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  void Start();
  // Ends the thread (an open watch is cancelled within about a second).
  void Stop();

  std::optional<nlohmann::json> Get(const std::string& ns,
                                    const std::string& name) const;
  std::vector<nlohmann::json> List() const;
  // True once the first LIST has filled the store.
  bool HasSynced() const;
  // Waits (real time) for HasSynced; false when `timeout` passed first.
  bool WaitForSync(std::chrono::milliseconds timeout) const;
  // The last resourceVersion seen (list, event or bookmark).
  std::string resource_version() const;
  // Completed LISTs so far (the first sync and every relist).
  int list_count() const;

 private:
  void Run();
  absl::Status ListAndReplace();
  absl::Status WatchOnce();
  // Takes ev.object into the cache (a copy when options_.on_event also
  // wants the event).
  void Apply(WatchEvent& ev);
  void SleepInterruptible(std::chrono::milliseconds d);

  Client& client_;
  InformerOptions options_;
  std::thread thread_;
  std::atomic<bool> stop_{false};

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::map<std::string, nlohmann::json> store_;
  bool synced_ = false;
  std::string rv_;
  int lists_ = 0;
};

}  // namespace sk::kube
