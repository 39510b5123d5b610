#include "lib/kube/informer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sk::kube {

using nlohmann::json;

namespace {

std::string Str(const json& obj, const char* a, const char* b) {
  if (!obj.is_object()) return "";
  auto it = obj.find(a);
  if (it == obj.end() || !it->is_object()) return "";
  auto jt = it->find(b);
  if (jt == it->end() || !jt->is_string()) return "";
  return jt->get<std::string>();
}

std::string KeyOf(const json& obj) {
  std::string ns = Str(obj, "metadata", "namespace");
  std::string name = Str(obj, "metadata", "name");
  return ns.empty() ? name : absl::StrCat(ns, "/", name);
}

}  // namespace

Informer::Informer(Client& client, InformerOptions options)
    : client_(client), options_(std::move(options)) {
  if (options_.clock == nullptr) options_.clock = &RealClock();
}

Informer::~Informer() { Stop(); }

void Informer::Start() {
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void Informer::Stop() {
  stop_ = true;
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::optional<json> Informer::Get(const std::string& ns,
                                  const std::string& name) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = store_.find(ns.empty() ? name : absl::StrCat(ns, "/", name));
  if (it == store_.end()) return std::nullopt;
  return it->second;
}

std::vector<json> Informer::List() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<json> out;
  out.reserve(store_.size());
  for (const auto& [k, v] : store_) out.push_back(v);
  return out;
}

bool Informer::HasSynced() const {
  std::lock_guard<std::mutex> l(mu_);
  return synced_;
}

bool Informer::WaitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> l(mu_);
  return cv_.wait_for(l, timeout, [&] { return synced_; });
}

std::string Informer::resource_version() const {
  std::lock_guard<std::mutex> l(mu_);
  return rv_;
}

int Informer::list_count() const {
  std::lock_guard<std::mutex> l(mu_);
  return lists_;
}

void Informer::SleepInterruptible(std::chrono::milliseconds d) {
  // In slices, so Stop() is not held up by a long backoff on the real clock.
  constexpr std::chrono::milliseconds kSlice{100};
  while (d.count() > 0 && !stop_) {
    std::chrono::milliseconds step = std::min(d, kSlice);
    options_.clock->SleepFor(step);
    d -= step;
  }
}

absl::Status Informer::ListAndReplace() {
  ListOptions lo;
  lo.limit = options_.page_size;
  lo.field_selector = options_.field_selector;
  lo.label_selector = options_.label_selector;
  absl::StatusOr<ListResult> list = client_.ListAll(options_.path, lo);
  if (!list.ok()) return list.status();
  std::map<std::string, json> fresh;
  for (json& item : list->items) {
    std::string key = KeyOf(item);
    fresh[key] = std::move(item);
  }
  std::vector<WatchEvent> changes;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (options_.on_event) {
      for (const auto& [k, old] : store_) {
        if (fresh.count(k) == 0) changes.push_back({"DELETED", old});
      }
      for (const auto& [k, obj] : fresh) {
        auto it = store_.find(k);
        if (it == store_.end()) {
          changes.push_back({"ADDED", obj});
        } else if (it->second != obj) {
          changes.push_back({"MODIFIED", obj});
        }
      }
    }
    store_ = std::move(fresh);
    rv_ = list->resource_version;
    synced_ = true;
    ++lists_;
  }
  cv_.notify_all();
  for (const WatchEvent& ev : changes) options_.on_event(ev);
  return absl::OkStatus();
}

void Informer::Apply(WatchEvent& ev) {
  std::string rv = Str(ev.object, "metadata", "resourceVersion");
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!rv.empty()) rv_ = rv;
    if (ev.type == "BOOKMARK") return;
    std::string key = KeyOf(ev.object);
    if (ev.type == "DELETED") {
      store_.erase(key);
    } else if (options_.on_event) {
      store_[key] = ev.object;
    } else {
      store_[key] = std::move(ev.object);
    }
  }
  if (options_.on_event) options_.on_event(ev);
}

absl::Status Informer::WatchOnce() {
  WatchOptions wo;
  wo.resource_version = resource_version();
  wo.allow_bookmarks = true;
  wo.timeout_seconds = options_.watch_timeout_seconds;
  wo.field_selector = options_.field_selector;
  wo.label_selector = options_.label_selector;
  wo.cancel = &stop_;
  return client_.Watch(options_.path, wo, [this](WatchEvent& ev) {
    Apply(ev);
    return !stop_.load();
  });
}

void Informer::Run() {
  std::chrono::milliseconds backoff = options_.initial_backoff;
  bool need_list = true;
  auto failed = [&](const absl::Status& s) {
    if (options_.on_error) options_.on_error(s);
    SleepInterruptible(backoff);
    backoff = std::min(backoff * 2, options_.max_backoff);
  };
  while (!stop_) {
    if (need_list) {
      absl::Status s = ListAndReplace();
      if (!s.ok()) {
        failed(s);
        continue;
      }
      need_list = false;
      backoff = options_.initial_backoff;
    }
    if (stop_) break;
    absl::Status s = WatchOnce();
    if (stop_) break;
    if (s.ok()) {
      backoff =
          options_.initial_backoff;  // the server ended the watch: re-watch
      continue;
    }
    if (IsResourceExpired(s)) {
      if (options_.on_error) options_.on_error(s);
      need_list = true;  // relist at once, as the reflector does
      continue;
    }
    failed(s);
  }
}

}  // namespace sk::kube
