#pragma once
// Captures what spdlog's default logger writes while in scope (one line per
// message, payload only), for tests that assert on log output. Restores the
// previous default logger on destruction. Header-only: the test that
// includes it links spdlog.
//
//   sk::testing::LogCapture logs;
//   ...code that logs...
//   EXPECT_THAT(logs.Text(), HasSubstr("retrying every 1 s"));
//
// Thread safety: Text() may run while other threads log.

#include <memory>
#include <mutex>
#include <string>

#include "spdlog/sinks/base_sink.h"
#include "spdlog/spdlog.h"

namespace sk::testing {

class LogCapture {
 public:
  LogCapture()
      : sink_(std::make_shared<Sink>()), previous_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>("capture", sink_);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(std::move(logger));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::string Text() const { return sink_->Text(); }

 private:
  class Sink : public spdlog::sinks::base_sink<std::mutex> {
   public:
    std::string Text() {
      std::lock_guard lock(mutex_);
      return text_;
    }

   protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
      text_.append(msg.payload.data(), msg.payload.size());
      text_ += '\n';
    }
    void flush_() override {}

   private:
    std::string text_;
  };

  std::shared_ptr<Sink> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace sk::testing
