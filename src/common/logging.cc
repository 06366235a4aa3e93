#include "common/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace wasimoff {

void setup_logging(std::string_view program, bool debug) {
  auto logger = spdlog::stderr_color_mt(std::string(program));
  logger->set_pattern(debug ? "%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%P] %v" : "%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
  logger->set_level(debug ? spdlog::level::debug : spdlog::level::info);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

std::string mask_secret(std::string_view secret) {
  if (secret.empty()) return "";
  if (secret.size() < 12) return "(set)";
  return std::string(secret.substr(0, 4)) + "…";
}

}  // namespace wasimoff
