#include "broker/config/broker_config.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "common/logging.h"
#include "common/strings.h"
#include "net/tls/certificate.h"

namespace wasimoff::broker {

namespace {

namespace fs = std::filesystem;
using Apply = std::function<std::optional<std::string>(std::string_view, BrokerConfig&)>;
using Show = std::function<std::string(const BrokerConfig&)>;

constexpr std::string_view kErrorPrefix = "wasimoff-broker: configuration error: ";
constexpr std::size_t kMaxShownValue = 200;

// Keeps the error on one line and readable: escapes quotes, backslashes and control characters,
// shortens very long values.
std::string escape_value(std::string_view v) {
  std::string out;
  bool truncated = v.size() > kMaxShownValue;
  for (unsigned char c : truncate_utf8(v, kMaxShownValue)) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  if (truncated) out += "…";
  return out;
}

std::string in_quotes(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

// ---- field binders: parser + printer for one member ---------------------------------------

template <typename T>
using Member = T BrokerConfig::*;

std::pair<Apply, Show> address_field(Member<env::Address> m) {
  return {[m](std::string_view t, BrokerConfig& c) -> std::optional<std::string> {
            auto r = env::parse_address(t);
            if (!r) return r.error();
            c.*m = r.value();
            return std::nullopt;
          },
          [m](const BrokerConfig& c) { return (c.*m).to_string(); }};
}

std::pair<Apply, Show> bool_field(Member<bool> m) {
  return {[m](std::string_view t, BrokerConfig& c) -> std::optional<std::string> {
            auto r = env::parse_bool(t);
            if (!r) return r.error();
            c.*m = r.value();
            return std::nullopt;
          },
          [m](const BrokerConfig& c) { return std::string(c.*m ? "true" : "false"); }};
}

std::pair<Apply, Show> path_field(Member<std::string> m) {
  return {[m](std::string_view t, BrokerConfig& c) -> std::optional<std::string> {
            c.*m = std::string(trim(t));
            return std::nullopt;
          },
          [m](const BrokerConfig& c) { return c.*m; }};
}

std::pair<Apply, Show> size_field(Member<std::uint64_t> m, std::uint64_t min, std::uint64_t max) {
  return {[=](std::string_view t, BrokerConfig& c) -> std::optional<std::string> {
            auto r = env::parse_size(t, min, max);
            if (!r) return r.error();
            c.*m = r.value();
            return std::nullopt;
          },
          [m](const BrokerConfig& c) {
            auto v = c.*m;
            for (auto [shift, unit] : {std::pair{30, "GiB"}, {20, "MiB"}, {10, "KiB"}})
              if (v != 0 && v % (1ull << shift) == 0) return std::to_string(v >> shift) + unit;
            return std::to_string(v);
          }};
}

std::pair<Apply, Show> int_field(Member<int> m, int min, int max) {
  return {[=](std::string_view t, BrokerConfig& c) -> std::optional<std::string> {
            auto r = env::parse_int(t, min, max);
            if (!r) return r.error();
            c.*m = static_cast<int>(r.value());
            return std::nullopt;
          },
          [m](const BrokerConfig& c) { return std::to_string(c.*m); }};
}

// A duration; `min` > 0 refuses shorter ones ("must be at least <min>").
std::pair<Apply, Show> duration_field(Member<std::chrono::milliseconds> m,
                                      std::chrono::milliseconds min = {}) {
  return {[=](std::string_view t, BrokerConfig& c) -> std::optional<std::string> {
            auto r = env::parse_duration(t);
            if (!r) return r.error();
            if (r.value() < min) return "must be at least " + env::format_duration(min);
            c.*m = r.value();
            return std::nullopt;
          },
          [m](const BrokerConfig& c) { return env::format_duration(c.*m); }};
}

// Tokens: exact text; no whitespace or control characters (they cannot survive an
// Authorization header or a query parameter unchanged).
std::pair<Apply, Show> token_field(Member<std::string> m) {
  return {[m](std::string_view t, BrokerConfig& c) -> std::optional<std::string> {
            for (unsigned char ch : t)
              if (ch <= 0x20 || ch == 0x7f)
                return "must not contain whitespace or control characters";
            c.*m = std::string(t);
            return std::nullopt;
          },
          [m](const BrokerConfig& c) {
            return (c.*m).empty() ? std::string("(empty: open)") : mask_secret(c.*m);
          }};
}

std::optional<std::string> check_storage(std::string_view v) {
  if (v.empty() || v == ":memory:" || v.starts_with("memory://")) return std::nullopt;
  for (std::string_view scheme : {"dirfs://", "sqlite://"}) {
    if (v.starts_with(scheme)) {
      if (v.size() == scheme.size())
        return std::string(scheme) + " needs a " +
               (scheme == "dirfs://" ? "directory, e.g. dirfs:///var/lib/wasimoff"
                                     : "database file, e.g. sqlite:///var/lib/wasimoff/files.db");
      return std::nullopt;
    }
  }
  if (v.starts_with("/") || v.starts_with("./") || v.starts_with("../")) return std::nullopt;
  return "unknown storage scheme (use :memory:, memory://, dirfs://<dir>, sqlite://<file> or a "
         "directory path starting with /, ./ or ../)";
}

std::optional<std::string> check_readable_directory(const std::string& path) {
  if (path.empty()) return "must name a readable directory";
  std::error_code ec;
  auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return "directory does not exist";
  if (!fs::is_directory(st)) return "not a directory";
  if (::access(path.c_str(), R_OK | X_OK) != 0)
    return "directory is not readable (permission denied)";
  return std::nullopt;
}

// The table in documentation order (docs/configuration.md), built by topic. `add` appends one
// variable; its help default is `def` unless given ("empty" for an empty default).
class TableBuilder {
 public:
  void add(std::string_view field, std::string_view type, std::string_view def,
           std::string_view help_default, std::string_view description,
           std::pair<Apply, Show> binder, bool secret = false) {
    table.push_back(
        ConfigVariable{field, env::variable_name(field), type, def,
                       help_default.empty() ? (def.empty() ? "empty" : def) : help_default,
                       description, secret, std::move(binder.first), std::move(binder.second)});
  }
  std::vector<ConfigVariable> table;
};

// Listeners and their TLS: where the Broker answers and with which certificates.
void add_listener_variables(TableBuilder& t) {
  t.add("HttpListen", "address", ":4080", "",
        "TCP listener for all HTTP routes and the WebSocket endpoints",
        address_field(&BrokerConfig::http_listen));
  t.add("QuicListen", "address", ":4443", "", "UDP listener for QUIC / HTTP/3 / WebTransport",
        address_field(&BrokerConfig::quic_listen));
  t.add("QuicCert", "path", "", "",
        "PEM certificate (chain) for QUIC; empty: ephemeral self-signed certificate, rotated daily",
        path_field(&BrokerConfig::quic_cert));
  t.add("QuicKey", "path", "", "", "PEM private key for WASIMOFF_QUIC_CERT",
        path_field(&BrokerConfig::quic_key));
  t.add("Https", "bool", "false", "",
        "serve the TCP listener with TLS, reusing the QUIC certificate",
        bool_field(&BrokerConfig::https));
  t.add("HttpCert", "path", "", "",
        "PEM certificate for the TCP listener (takes precedence over WASIMOFF_HTTPS); reloaded on "
        "SIGHUP",
        path_field(&BrokerConfig::http_cert));
  t.add("HttpKey", "path", "", "", "PEM private key for WASIMOFF_HTTP_CERT",
        path_field(&BrokerConfig::http_key));
  t.add("TransportUrl", "url", "https://localhost:4443/transport", "",
        "externally reachable WebTransport URL, published by /api/broker/v1/config; its path is "
        "the CONNECT route",
        {[](std::string_view text, BrokerConfig& c) -> std::optional<std::string> {
           auto r = env::parse_url(text);
           if (!r) return r.error();
           const auto& u = r.value();
           if (u.scheme != "https") return "must be an https:// URL (WebTransport always uses TLS)";
           if (u.path.empty())
             return "must have a non-empty path, e.g. https://" + u.host + "/transport";
           if (!u.fragment.empty()) return "must not have a #fragment";
           c.transport_url = u;
           return std::nullopt;
         },
         [](const BrokerConfig& c) { return c.transport_url.text; }});
}

// What the Broker serves and keeps: the page, origins, storage, metrics, debug.
void add_serving_variables(TableBuilder& t) {
  t.add("StaticFiles", "path", "", "bundled page", "root directory served on /",
        {[](std::string_view text, BrokerConfig& c) -> std::optional<std::string> {
           std::string path(trim(text));
           if (auto bad = check_readable_directory(path)) return bad;
           c.static_files = fs::absolute(path).lexically_normal().string();
           c.static_files_explicit = true;
           return std::nullopt;
         },
         [](const BrokerConfig& c) {
           if (c.static_files.empty()) return std::string("(none)");
           return c.static_files + (c.static_files_explicit ? "" : " (default)");
         }});
  t.add("AllowedOrigins", "list", "", "",
        "extra origin host[:port] glob patterns (*, ?) for the provider sockets and the client API "
        "CORS policy",
        {[](std::string_view text, BrokerConfig& c) -> std::optional<std::string> {
           auto list = env::parse_list(text);
           for (const auto& p : list) {
             if (p.find("://") != std::string::npos)
               return "origin pattern " + in_quotes(p) +
                      " must not contain a scheme; write host[:port] patterns such as example.org "
                      "or localhost:5173";
             if (p.find('/') != std::string::npos)
               return "origin pattern " + in_quotes(p) + " must not contain '/'; write host[:port]";
           }
           c.allowed_origins = std::move(list);
           return std::nullopt;
         },
         [](const BrokerConfig& c) {
           std::string out;
           for (const auto& p : c.allowed_origins) out += (out.empty() ? "" : ",") + p;
           return out;
         }});
  t.add("Filestorage", "string", ":memory:", "",
        "storage backend: :memory:, memory://, dirfs://<dir>, sqlite://<file>, or a directory path "
        "starting with /, ./ or ../",
        {[](std::string_view text, BrokerConfig& c) -> std::optional<std::string> {
           auto v = trim(text);
           if (auto bad = check_storage(v)) return bad;
           c.filestorage = std::string(v);
           return std::nullopt;
         },
         [](const BrokerConfig& c) { return c.filestorage; }});
  t.add("Metrics", "bool", "true", "", "expose GET /metrics", bool_field(&BrokerConfig::metrics));
  t.add("Debug", "bool", "false", "", "debug logging, log the PID, expose GET /debug/state",
        bool_field(&BrokerConfig::debug));
}

// Bounds on what clients and providers may ask for, and the tokens that admit them.
void add_task_limit_variables(TableBuilder& t) {
  t.add("QueueSize", "int 1-1000000", "2048", "",
        "maximum number of tasks waiting for a provider slot",
        int_field(&BrokerConfig::queue_size, 1, 1'000'000));
  t.add("MaxUploadSize", "size >=1KiB", "256MiB", "",
        "largest file accepted by the upload routes and the CGI request body",
        size_field(&BrokerConfig::max_upload_size, 1ull << 10, UINT64_MAX));
  t.add("MaxMessageSize", "size 1MiB-1GiB", "64MiB", "",
        "largest WebSocket message, WebTransport frame and Connect request body",
        size_field(&BrokerConfig::max_message_size, 1ull << 20, 1ull << 30));
  t.add("ClientToken", "string", "", "empty (open)", "bearer token required by client routes",
        token_field(&BrokerConfig::client_token), /*secret=*/true);
  t.add("ProviderToken", "string", "", "empty (open)",
        "bearer token required by provider connections", token_field(&BrokerConfig::provider_token),
        /*secret=*/true);
  t.add("TaskTimeout", "duration", "", "none",
        "upper bound for a task from acceptance to completion (empty or 0: none)",
        duration_field(&BrokerConfig::task_timeout));
  t.add("MaxJobSize", "size >=1MiB", "1GiB", "",
        "largest job: the sum over its tasks of what each weighs when sent to a provider, parent "
        "fields counted once per task that inherits them",
        size_field(&BrokerConfig::max_job_size, 1ull << 20, UINT64_MAX));
  t.add("MaxProviderConcurrency", "int 1-65536", "256", "",
        "most tasks one provider gets at a time, whatever concurrency it announces",
        int_field(&BrokerConfig::max_provider_concurrency, 1, 65536));
}

// Time and connection bounds that keep a hostile or hung peer from holding resources.
void add_connection_variables(TableBuilder& t) {
  t.add("AttemptTimeout", "duration", "1h", "",
        "longest one provider may hold a task without a result; then it is cancelled there and "
        "retried elsewhere (0: no bound; never beyond the task's deadline)",
        duration_field(&BrokerConfig::attempt_timeout));
  t.add("MaxConnectionsPerIp", "int 0-10000", "256", "",
        "connections one client address may hold on each listener (TCP, QUIC), WebSockets "
        "included; 0: no limit (behind a reverse proxy every client has the proxy's address)",
        int_field(&BrokerConfig::max_connections_per_ip, 0, 10000));
  t.add("RequestHeaderTimeout", "duration", "10s", "",
        "time a client has to send a complete HTTP request header after connecting (or after the "
        "first byte of a further request); 0: none",
        duration_field(&BrokerConfig::request_header_timeout));
  t.add("AdmissionConcurrency", "int 1-100000", "64", "",
        "new provider connections admitted at the same time (their Filesystem.Listing in flight); "
        "the others wait in arrival order, and each one's 10 s Listing limit starts with its turn",
        int_field(&BrokerConfig::admission_concurrency, 1, 100000));
  t.add("AdmissionTimeout", "duration >=1s", "60s", "",
        "longest a new provider connection waits for its admission turn; then it is closed with "
        "1011 `admission timeout: …` (and reconnects later)",
        duration_field(&BrokerConfig::admission_timeout, std::chrono::seconds(1)));
}

std::vector<ConfigVariable> build_table() {
  TableBuilder t;
  add_listener_variables(t);
  add_serving_variables(t);
  add_task_limit_variables(t);
  add_connection_variables(t);
  return std::move(t.table);
}

const ConfigVariable& variable(std::string_view field) {
  for (const auto& v : broker_config_variables())
    if (v.field == field) return v;
  throw std::logic_error("no configuration variable " + std::string(field));
}

// The compile-time default of WASIMOFF_STATIC_FILES (docs/configuration.md §5.4): the installed
// page if that directory exists, else the build tree's page (which may not be built yet).
std::string default_static_dir() {
  std::string install, build;
#ifdef WASIMOFF_INSTALL_STATIC_DIR
  install = WASIMOFF_INSTALL_STATIC_DIR;
#endif
#ifdef WASIMOFF_BUILD_STATIC_DIR
  build = WASIMOFF_BUILD_STATIC_DIR;
#endif
  std::error_code ec;
  if (!install.empty() && fs::is_directory(install, ec)) return install;
  return build;
}

// Both-or-neither for a cert/key pair, then load it so that file problems surface now.
void check_pair(const std::string& cert, const std::string& key, std::string_view cert_field,
                std::string_view key_field) {
  const auto& cert_var = variable(cert_field);
  const auto& key_var = variable(key_field);
  if (cert.empty() && key.empty()) return;
  if (key.empty())
    throw ConfigError(cert_var.name, cert, key_var.name + " must be set too (set both or neither)");
  if (cert.empty())
    throw ConfigError(key_var.name, key, cert_var.name + " must be set too (set both or neither)");
  try {
    tls::load_certificate_files(cert, key);
  } catch (const tls::TlsError& e) {
    if (e.part() == tls::TlsError::Part::key) throw ConfigError(key_var.name, key, e.what());
    throw ConfigError(cert_var.name, cert, e.what());
  }
}

}  // namespace

ConfigError::ConfigError(std::string variable_, std::string value_, std::string reason_)
    : std::runtime_error(std::string(kErrorPrefix) + variable_ + "=\"" + escape_value(value_) +
                         "\": " + reason_),
      variable(std::move(variable_)),
      value(std::move(value_)),
      reason(std::move(reason_)) {}

ConfigError::ConfigError(const dotenv::DotenvError& e)
    : std::runtime_error(std::string(kErrorPrefix) + e.what()), reason(e.reason()) {}

const std::vector<ConfigVariable>& broker_config_variables() {
  static const std::vector<ConfigVariable> table = build_table();
  return table;
}

const std::vector<std::string_view>& ignored_v1_variables() {
  static const std::vector<std::string_view> names = {
      "WASIMOFF_CLOUD_CREDENTIALS", "WASIMOFF_CLOUD_FUNCTION", "WASIMOFF_CLOUD_CONCURRENCY",
      "WASIMOFF_BENCHMODE"};
  return names;
}

LoadedConfig load_broker_config(const EnvLookup& env,
                                const std::vector<std::string>& all_env_names) {
  LoadedConfig out;
  BrokerConfig& c = out.config;

  bool static_set = false;
  for (const auto& v : broker_config_variables()) {
    auto value = env(v.name);
    if (v.field == "StaticFiles") {
      if (!value) continue;  // resolved below
      static_set = true;
    }
    std::string text = value ? *value : std::string(v.default_value);
    if (auto reason = v.apply(text, c))
      throw ConfigError(v.name, v.secret ? mask_secret(text) : text, *reason);
  }
  if (!static_set) {
    c.static_files = default_static_dir();
    c.static_files_explicit = false;
    std::error_code ec;
    if (c.static_files.empty())
      out.warnings.push_back(
          "no default static directory in this build; static routes answer 404 (set "
          "WASIMOFF_STATIC_FILES to serve a page)");
    else if (!fs::is_directory(c.static_files, ec))
      out.warnings.push_back("the browser provider page is not built (" + c.static_files +
                             " does not exist); static routes answer 404 until it is built or "
                             "WASIMOFF_STATIC_FILES is set");
  }

  check_pair(c.quic_cert, c.quic_key, "QuicCert", "QuicKey");
  check_pair(c.http_cert, c.http_key, "HttpCert", "HttpKey");

  // Warnings.
  std::set<std::string> seen;
  for (const auto& name : all_env_names) {
    if (!name.starts_with("WASIMOFF_") || !seen.insert(name).second) continue;
    auto& table = broker_config_variables();
    if (std::any_of(table.begin(), table.end(), [&](const auto& v) { return v.name == name; }))
      continue;
    auto& v1 = ignored_v1_variables();
    if (std::find(v1.begin(), v1.end(), name) != v1.end())
      out.warnings.push_back(name +
                             " is a wasimoff v1 setting that this broker does not "
                             "implement; it is ignored");
    else
      out.warnings.push_back("unknown variable " + name +
                             " is ignored (check the spelling; wasimoff-broker --help lists all "
                             "variables)");
  }
  if (std::find(c.allowed_origins.begin(), c.allowed_origins.end(), "*") != c.allowed_origins.end())
    out.warnings.push_back("WASIMOFF_ALLOWED_ORIGINS contains \"*\": every origin is allowed");
  if (c.https && c.http_cert.empty() && c.quic_cert.empty())
    out.warnings.push_back(
        "WASIMOFF_HTTPS=true with the ephemeral QUIC certificate: browsers will not load pages "
        "over it (hash pinning only works for WebTransport); set WASIMOFF_HTTP_CERT/_KEY or "
        "WASIMOFF_QUIC_CERT/_KEY");
  return out;
}

dotenv::LoadResult load_broker_env_files(const std::filesystem::path& dir) {
  try {
    return dotenv::load_env_files(dir);
  } catch (const dotenv::DotenvError& e) {
    throw ConfigError(e);
  }
}

std::string broker_help_text() {
  const auto& table = broker_config_variables();
  std::size_t wn = 8, wt = 4, wd = 7;  // widths of VARIABLE, TYPE, DEFAULT
  for (const auto& v : table) {
    wn = std::max(wn, v.name.size());
    wt = std::max(wt, v.type.size());
    wd = std::max(wd, v.help_default.size());
  }
  auto row = [&](std::string_view a, std::string_view b, std::string_view c, std::string_view d) {
    std::string line = "  ";
    line += a;
    line.append(wn + 2 - a.size(), ' ');
    line += b;
    line.append(wt + 2 - b.size(), ' ');
    line += c;
    line.append(wd + 2 - c.size(), ' ');
    line += d;
    return line + "\n";
  };

  std::string out =
      "wasimoff-broker: offloads WebAssembly (WASI preview 1) tasks from clients to browser and\n"
      "native providers over WebSocket and WebTransport.\n"
      "\n"
      "Usage: wasimoff-broker [-h|--help] [--version]\n"
      "\n"
      "The broker is configured only through environment variables:\n"
      "\n";
  out += row("VARIABLE", "TYPE", "DEFAULT", "DESCRIPTION");
  for (const auto& v : table) out += row(v.name, v.type, v.help_default, v.description);
  std::string static_default = default_static_dir();
  out +=
      "\n"
      "Value syntax:\n"
      "  bool      true/false, 1/0, yes/no, on/off (case-insensitive)\n"
      "  int       decimal integer within the stated range\n"
      "  size      bytes, optionally with K/KiB, M/MiB, G/GiB (binary multiples), e.g. 256MiB\n"
      "  duration  <number><unit> sequence with units ms, s, m, h (e.g. 1h30m, 250ms); a plain\n"
      "            integer means seconds; empty or 0 means none\n"
      "  address   host:port, :port (all interfaces, IPv4 and IPv6) or [v6addr]:port\n"
      "  list      comma-separated, entries trimmed, empty entries dropped\n"
      "  url       absolute URL\n"
      "\n"
      "The default of WASIMOFF_STATIC_FILES (bundled page) is " +
      (static_default.empty() ? std::string("not defined in this build") : static_default) +
      ".\n"
      "Variables of wasimoff v1 (WASIMOFF_CLOUD_*, WASIMOFF_BENCHMODE) are ignored with a "
      "warning.\n"
      "\n"
      "Precedence (highest first):\n"
      "  1. variables already set in the process environment\n"
      "  2. .env in the current working directory\n"
      "  3. config.env in the current working directory\n"
      "  4. the built-in defaults above\n"
      "A file only sets variables that are not set yet; missing files are skipped. File syntax:\n"
      "KEY=value per line, optional leading 'export ', # comments, 'literal' and \"escaped\"\n"
      "values.\n"
      "\n"
      "A configuration error prints one line on stderr and exits with status 2.\n"
      "Signals: SIGHUP reloads certificate files; SIGINT/SIGTERM shut down gracefully.\n";
  return out;
}

std::vector<std::string> describe_effective_config(const BrokerConfig& config) {
  std::vector<std::string> lines;
  for (const auto& v : broker_config_variables()) lines.push_back(v.name + "=" + v.show(config));
  return lines;
}

}  // namespace wasimoff::broker
