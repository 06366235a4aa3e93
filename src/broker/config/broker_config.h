// The Broker's configuration (docs/configuration.md): one typed field per WASIMOFF_* variable,
// parsed and validated from the environment before any socket is opened.
//
// A single table (broker_config_variables()) lists every setting with its CamelCase field name,
// type, default, description and parser; the variable names (naming rule of §2), parsing,
// defaults, validation, --help and the startup log are all generated from it, so code and
// documentation cannot drift apart.
//
// Typical use in main():
//   load_broker_env_files();                                   // .env, config.env (§1)
//   auto loaded = load_broker_config(env::getenv_value, env::environment_names());
//   for (auto& w : loaded.warnings) spdlog::warn("{}", w);
//   for (auto& l : describe_effective_config(loaded.config)) spdlog::info("{}", l);
// and on ConfigError: print what() on stderr, exit 2.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/dotenv.h"
#include "common/env_config.h"
#include "contract/contract.h"

namespace wasimoff::broker {

// The effective configuration. The member initializers equal the table defaults (a unit test
// checks this), so a default-constructed BrokerConfig is the configuration of an empty
// environment, except static_files, which is resolved at load time.
struct BrokerConfig {
  env::Address http_listen{"", 4080};  // WASIMOFF_HTTP_LISTEN
  env::Address quic_listen{"", 4443};  // WASIMOFF_QUIC_LISTEN
  std::string quic_cert;               // WASIMOFF_QUIC_CERT, empty → ephemeral certificate
  std::string quic_key;                // WASIMOFF_QUIC_KEY
  bool https = false;                  // WASIMOFF_HTTPS
  std::string http_cert;               // WASIMOFF_HTTP_CERT
  std::string http_key;                // WASIMOFF_HTTP_KEY
  // WASIMOFF_TRANSPORT_URL: absolute https:// URL with host and non-empty path; `path` is the
  // CONNECT route, `host` goes into the ephemeral certificate.
  env::Url transport_url{"https://localhost:4443/transport", "https", "localhost", 4443,
                         "/transport"};
  // WASIMOFF_STATIC_FILES: a readable directory when explicit; the default may not exist (then
  // load_broker_config() adds a warning and static routes answer 404) or be empty when the build
  // defines no default.
  std::string static_files;
  bool static_files_explicit = false;
  std::vector<std::string> allowed_origins;      // WASIMOFF_ALLOWED_ORIGINS, host[:port] globs
  std::string filestorage = ":memory:";          // WASIMOFF_FILESTORAGE, scheme syntax checked
  bool metrics = true;                           // WASIMOFF_METRICS
  bool debug = false;                            // WASIMOFF_DEBUG
  int queue_size = 2048;                         // WASIMOFF_QUEUE_SIZE, 1–1000000
  std::uint64_t max_upload_size = 256ull << 20;  // WASIMOFF_MAX_UPLOAD_SIZE, bytes ≥ 1 KiB
  std::uint64_t max_message_size =
      contract::limits::kMaxMessageSizeDefault;  // WASIMOFF_MAX_MESSAGE_SIZE, 1 MiB – 1 GiB
  std::string client_token;                      // WASIMOFF_CLIENT_TOKEN, empty → open
  std::string provider_token;                    // WASIMOFF_PROVIDER_TOKEN, empty → open
  std::chrono::milliseconds task_timeout{0};     // WASIMOFF_TASK_TIMEOUT, zero → none
  // Hardening (beyond the variables of wasimoff v1; security.md):
  std::uint64_t max_job_size = 1ull << 30;  // WASIMOFF_MAX_JOB_SIZE, bytes ≥ 1 MiB
  int max_provider_concurrency = 256;       // WASIMOFF_MAX_PROVIDER_CONCURRENCY, 1–65536
  std::chrono::milliseconds attempt_timeout{std::chrono::hours(1)};  // WASIMOFF_ATTEMPT_TIMEOUT
  int max_connections_per_ip = 256;  // WASIMOFF_MAX_CONNECTIONS_PER_IP, 0–10000, 0 = no limit
  std::chrono::milliseconds request_header_timeout{std::chrono::seconds(10)};  // ..._TIMEOUT
  // Fleets (thousands of providers on one Broker):
  int admission_concurrency = 64;  // WASIMOFF_ADMISSION_CONCURRENCY, 1–100000: Listings in flight
  std::chrono::milliseconds admission_timeout{std::chrono::seconds(60)};  // ..._ADMISSION_TIMEOUT

  // The TCP listener serves TLS: WASIMOFF_HTTP_CERT (precedence) or WASIMOFF_HTTPS.
  bool http_tls() const { return !http_cert.empty() || https; }

  bool operator==(const BrokerConfig&) const = default;
};

// One configuration problem. what() is the single stderr line of docs/configuration.md §6:
//   wasimoff-broker: configuration error: VAR="value": reason
// Secret values (tokens) are masked; control characters and quotes in the value are escaped
// so the message stays on one line. For a malformed .env/config.env line `variable` is empty
// and what() is "wasimoff-broker: configuration error: <file>:<line>: <reason>".
struct ConfigError : std::runtime_error {
  ConfigError(std::string variable, std::string value, std::string reason);
  // A malformed .env / config.env file.
  explicit ConfigError(const dotenv::DotenvError& e);

  std::string variable, value, reason;
};

using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

struct LoadedConfig {
  BrokerConfig config;
  // Human-readable warnings for the startup log: unknown WASIMOFF_* variables (typo guard),
  // ignored wasimoff v1 variables, a lone "*" origin, a missing default static directory, and
  // WASIMOFF_HTTPS with the ephemeral certificate.
  std::vector<std::string> warnings;
};

// Parses and validates every variable (docs/configuration.md §4, §6). `env` returns a variable's
// value if it is set; `all_env_names` are all names in the environment (for the unknown-variable
// warnings). Also loads WASIMOFF_QUIC_CERT/_KEY and WASIMOFF_HTTP_CERT/_KEY (when set) with
// tls::load_certificate_files, so unreadable, non-PEM or mismatched files fail here. The storage
// backend itself is not opened (only the scheme syntax is checked). Throws ConfigError for the
// first problem found, in table order, then the certificate pairs.
LoadedConfig load_broker_config(const EnvLookup& env,
                                const std::vector<std::string>& all_env_names);

// Applies `.env` then `config.env` of `dir` to the process environment (docs/configuration.md §1,
// common/dotenv.h). Throws ConfigError for a malformed line.
dotenv::LoadResult load_broker_env_files(
    const std::filesystem::path& dir = std::filesystem::current_path());

// The --help text (docs/configuration.md §7): a short description, the VARIABLE TYPE DEFAULT
// DESCRIPTION table, the value syntax and the precedence rules. Ends with a newline.
std::string broker_help_text();

// "WASIMOFF_HTTP_LISTEN=:4080", … one line per variable for the startup log; tokens masked.
std::vector<std::string> describe_effective_config(const BrokerConfig& config);

// One row of the table (exposed for tests and documentation generators).
struct ConfigVariable {
  std::string_view field;          // CamelCase field name, e.g. "MaxUploadSize"
  std::string name;                // derived: "WASIMOFF_MAX_UPLOAD_SIZE"
  std::string_view type;           // as shown by --help, e.g. "size 1MiB-1GiB"
  std::string_view default_value;  // text fed to the parser when the variable is unset
  std::string_view help_default;   // as shown by --help
  std::string_view description;
  bool secret = false;  // masked in errors and in the startup log
  // Parses `text` into `config`; returns the reason on failure.
  std::function<std::optional<std::string>(std::string_view text, BrokerConfig& config)> apply;
  // The effective value as text (masked when secret).
  std::function<std::string(const BrokerConfig& config)> show;
};
const std::vector<ConfigVariable>& broker_config_variables();

// Names of wasimoff v1 variables that are accepted but ignored (with a warning).
const std::vector<std::string_view>& ignored_v1_variables();

}  // namespace wasimoff::broker
