// Logging setup. Every component logs through spdlog's default logger, to stderr, one line per
// event with timestamp and level. This is the one piece of global mutable state we allow.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace wasimoff {

// Configures the default logger: stderr, "2026-01-01T12:00:00.123 info  [component] message".
// `debug` enables debug level and adds the PID to each line.
void setup_logging(std::string_view program, bool debug);

// Masks a secret for logs: "abcd…" (first 4 characters) or "(set)" for short values.
std::string mask_secret(std::string_view secret);

}  // namespace wasimoff
