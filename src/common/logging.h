// Logging setup. Every component logs through spdlog's default logger, to stderr, one line per
// event with timestamp and level. This is the one piece of global mutable state we allow.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace wasimoff {

// Configures the default logger: stderr, "2026-01-01T12:00:00.123 info  message". Control
// characters, backslashes and invalid UTF-8 in messages are escaped (escape_untrusted), so a log
// line is always exactly one record.
// `debug` enables debug level and adds the PID to each line.
void setup_logging(std::string_view program, bool debug);

// Describes a secret for logs and error messages without any of its material: "(set, 32 bytes)".
std::string mask_secret(std::string_view secret);

}  // namespace wasimoff
