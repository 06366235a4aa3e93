#include "common/logging.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

#include "common/strings.h"

namespace wasimoff {

namespace {

// Forwards every record to `inner` with its message escaped (escape_untrusted), so no text that
// reached a log call from the network — a provider's name, a peer's error, a file name — can
// start a new line, forge a record or send terminal control sequences. Nothing is truncated here
// (callers bound what they log).
class EscapingSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit EscapingSink(spdlog::sink_ptr inner) : inner_(std::move(inner)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string_view payload(msg.payload.data(), msg.payload.size());
    if (!needs_escaping(payload)) return inner_->log(msg);
    std::string escaped = escape_untrusted(payload, payload.size());
    spdlog::details::log_msg copy = msg;
    copy.payload = spdlog::string_view_t(escaped.data(), escaped.size());
    inner_->log(copy);
  }
  void flush_() override { inner_->flush(); }
  void set_pattern_(const std::string& pattern) override { inner_->set_pattern(pattern); }
  void set_formatter_(std::unique_ptr<spdlog::formatter> f) override {
    inner_->set_formatter(std::move(f));
  }

 private:
  static bool needs_escaping(std::string_view s) {
    for (char ch : s) {
      auto c = static_cast<unsigned char>(ch);
      if (c < 0x20 || c == 0x7f || c == '\\' || c >= 0x80) return true;
    }
    return false;
  }

  spdlog::sink_ptr inner_;
};

}  // namespace

void setup_logging(std::string_view program, bool debug) {
  auto color = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto sink = std::make_shared<EscapingSink>(std::move(color));
  auto logger = std::make_shared<spdlog::logger>(std::string(program), std::move(sink));
  logger->set_pattern(debug ? "%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%P] %v"
                            : "%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
  logger->set_level(debug ? spdlog::level::debug : spdlog::level::info);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

std::string mask_secret(std::string_view secret) {
  if (secret.empty()) return "";
  return "(set, " + std::to_string(secret.size()) + " bytes)";
}

}  // namespace wasimoff
