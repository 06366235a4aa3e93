#include "broker/config/broker_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "temp_dir.h"

namespace wasimoff::broker {
namespace {

using namespace std::chrono_literals;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using wasimoff::testing::TempDir;

using Env = std::map<std::string, std::string>;

LoadedConfig load(const Env& env) {
  std::vector<std::string> names;
  for (const auto& [k, v] : env) names.push_back(k);
  return load_broker_config(
      [&](std::string_view name) -> std::optional<std::string> {
        auto it = env.find(std::string(name));
        if (it == env.end()) return std::nullopt;
        return it->second;
      },
      names);
}

// The exact stderr line for `env`, or "<no error>".
std::string error_line(const Env& env) {
  try {
    load(env);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}

std::string line(std::string_view var, std::string_view value, std::string_view reason) {
  return "wasimoff-broker: configuration error: " + std::string(var) + "=\"" + std::string(value) +
         "\": " + std::string(reason);
}

// A self-signed EC pair written by the openssl CLI (no keys are committed).
struct PemFiles {
  std::string cert, key;
};

PemFiles make_pair(const TempDir& dir, const std::string& prefix) {
  PemFiles f{dir.file(prefix + "-cert.pem"), dir.file(prefix + "-key.pem")};
  std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
      "-days 10 -subj /CN=localhost -keyout '" +
      f.key + "' -out '" + f.cert + "' >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl req failed: " + cmd);
  return f;
}

TEST(BrokerConfigTable, CoversEveryVariableOfTheSpecInOrder) {
  std::vector<std::string> names;
  for (const auto& v : broker_config_variables()) {
    names.push_back(v.name);
    EXPECT_EQ(v.name, env::variable_name(v.field));
    EXPECT_FALSE(v.description.empty()) << v.name;
    EXPECT_FALSE(v.help_default.empty()) << v.name;
  }
  // The variables of the configuration reference in its order, then the hardening limits.
  std::vector<std::string> expected = {"WASIMOFF_HTTP_LISTEN",     "WASIMOFF_QUIC_LISTEN",
                                       "WASIMOFF_QUIC_CERT",       "WASIMOFF_QUIC_KEY",
                                       "WASIMOFF_HTTPS",           "WASIMOFF_HTTP_CERT",
                                       "WASIMOFF_HTTP_KEY",        "WASIMOFF_TRANSPORT_URL",
                                       "WASIMOFF_STATIC_FILES",    "WASIMOFF_ALLOWED_ORIGINS",
                                       "WASIMOFF_FILESTORAGE",     "WASIMOFF_METRICS",
                                       "WASIMOFF_DEBUG",           "WASIMOFF_QUEUE_SIZE",
                                       "WASIMOFF_MAX_UPLOAD_SIZE", "WASIMOFF_MAX_MESSAGE_SIZE",
                                       "WASIMOFF_CLIENT_TOKEN",    "WASIMOFF_PROVIDER_TOKEN",
                                       "WASIMOFF_TASK_TIMEOUT"};
  for (const char* name : {
           "WASIMOFF_MAX_JOB_SIZE",
           "WASIMOFF_MAX_PROVIDER_CONCURRENCY",
           "WASIMOFF_ATTEMPT_TIMEOUT",
           "WASIMOFF_MAX_CONNECTIONS_PER_IP",
           "WASIMOFF_REQUEST_HEADER_TIMEOUT",
           "WASIMOFF_ADMISSION_CONCURRENCY",
           "WASIMOFF_ADMISSION_TIMEOUT",
       })
    expected.push_back(name);
  EXPECT_EQ(names, expected);
}

TEST(BrokerConfigDefaults, EmptyEnvironmentGivesTheSpecDefaults) {
  auto c = load({}).config;
  EXPECT_EQ(c.http_listen.to_string(), ":4080");
  EXPECT_EQ(c.quic_listen.to_string(), ":4443");
  EXPECT_EQ(c.quic_cert, "");
  EXPECT_FALSE(c.https);
  EXPECT_FALSE(c.http_tls());
  EXPECT_EQ(c.transport_url.text, "https://localhost:4443/transport");
  EXPECT_EQ(c.transport_url.host, "localhost");
  EXPECT_EQ(c.transport_url.path, "/transport");
  EXPECT_FALSE(c.static_files_explicit);
  EXPECT_TRUE(c.allowed_origins.empty());
  EXPECT_EQ(c.filestorage, ":memory:");
  EXPECT_TRUE(c.metrics);
  EXPECT_FALSE(c.debug);
  EXPECT_EQ(c.queue_size, 2048);
  EXPECT_EQ(c.max_upload_size, 256u << 20);
  EXPECT_EQ(c.max_message_size, 64u << 20);
  EXPECT_EQ(c.client_token, "");
  EXPECT_EQ(c.provider_token, "");
  EXPECT_EQ(c.task_timeout, 0ms);
  EXPECT_EQ(c.max_job_size, 1u << 30);
  EXPECT_EQ(c.max_provider_concurrency, 256);
  EXPECT_EQ(c.attempt_timeout, 1h);
  EXPECT_EQ(c.max_connections_per_ip, 256);
  EXPECT_EQ(c.request_header_timeout, 10s);
  EXPECT_EQ(c.admission_concurrency, 64);
  EXPECT_EQ(c.admission_timeout, 60s);
}

TEST(BrokerConfigDefaults, StructInitializersEqualTableDefaults) {
  auto loaded = load({}).config;
  BrokerConfig plain;
  plain.static_files = loaded.static_files;  // resolved at load time
  EXPECT_EQ(plain, loaded);
}

TEST(BrokerConfigDefaults, DefaultStaticDirectoryIsTheBuildTreePage) {
  auto loaded = load({});
  const std::string install = WASIMOFF_TEST_INSTALL_STATIC_DIR;
  const std::string build = WASIMOFF_TEST_BUILD_STATIC_DIR;
  EXPECT_EQ(loaded.config.static_files, std::filesystem::is_directory(install) ? install : build);
  EXPECT_FALSE(loaded.config.static_files_explicit);
  if (std::filesystem::is_directory(loaded.config.static_files))
    EXPECT_THAT(loaded.warnings, ::testing::Not(Contains(HasSubstr("static routes answer 404"))));
  else
    EXPECT_THAT(loaded.warnings, Contains(HasSubstr("static routes answer 404")));
}

TEST(BrokerConfigParsing, EveryVariableIsApplied) {
  TempDir dir;
  auto quic = make_pair(dir, "quic");
  auto http = make_pair(dir, "http");
  auto c = load({{"WASIMOFF_HTTP_LISTEN", "127.0.0.1:8080"},
                 {"WASIMOFF_QUIC_LISTEN", "[::1]:443"},
                 {"WASIMOFF_QUIC_CERT", quic.cert},
                 {"WASIMOFF_QUIC_KEY", quic.key},
                 {"WASIMOFF_HTTPS", "yes"},
                 {"WASIMOFF_HTTP_CERT", http.cert},
                 {"WASIMOFF_HTTP_KEY", http.key},
                 {"WASIMOFF_TRANSPORT_URL", "https://example.org:443/wt"},
                 {"WASIMOFF_STATIC_FILES", dir.path().string()},
                 {"WASIMOFF_ALLOWED_ORIGINS", "localhost:5173, *.example.org"},
                 {"WASIMOFF_FILESTORAGE", "sqlite:///var/lib/wasimoff/files.db"},
                 {"WASIMOFF_METRICS", "off"},
                 {"WASIMOFF_DEBUG", "1"},
                 {"WASIMOFF_QUEUE_SIZE", "10"},
                 {"WASIMOFF_MAX_UPLOAD_SIZE", "1KiB"},
                 {"WASIMOFF_MAX_MESSAGE_SIZE", "1G"},
                 {"WASIMOFF_CLIENT_TOKEN", "client-secret-123456"},
                 {"WASIMOFF_PROVIDER_TOKEN", "provider-secret-123456"},
                 {"WASIMOFF_TASK_TIMEOUT", "1h30m"},
                 {"WASIMOFF_MAX_JOB_SIZE", "2G"},
                 {"WASIMOFF_MAX_PROVIDER_CONCURRENCY", "64"},
                 {"WASIMOFF_ATTEMPT_TIMEOUT", "90s"},
                 {"WASIMOFF_MAX_CONNECTIONS_PER_IP", "0"},
                 {"WASIMOFF_REQUEST_HEADER_TIMEOUT", "2500ms"},
                 {"WASIMOFF_ADMISSION_CONCURRENCY", "8"},
                 {"WASIMOFF_ADMISSION_TIMEOUT", "2m"}})
               .config;
  EXPECT_EQ(c.http_listen, (env::Address{"127.0.0.1", 8080}));
  EXPECT_EQ(c.quic_listen, (env::Address{"::1", 443}));
  EXPECT_EQ(c.quic_cert, quic.cert);
  EXPECT_EQ(c.quic_key, quic.key);
  EXPECT_TRUE(c.https);
  EXPECT_EQ(c.http_cert, http.cert);
  EXPECT_EQ(c.http_key, http.key);
  EXPECT_EQ(c.transport_url.host, "example.org");
  EXPECT_EQ(c.transport_url.path, "/wt");
  EXPECT_EQ(c.static_files, dir.path().string());
  EXPECT_TRUE(c.static_files_explicit);
  EXPECT_EQ(c.allowed_origins, (std::vector<std::string>{"localhost:5173", "*.example.org"}));
  EXPECT_EQ(c.filestorage, "sqlite:///var/lib/wasimoff/files.db");
  EXPECT_FALSE(c.metrics);
  EXPECT_TRUE(c.debug);
  EXPECT_EQ(c.queue_size, 10);
  EXPECT_EQ(c.max_upload_size, 1024u);
  EXPECT_EQ(c.max_message_size, 1u << 30);
  EXPECT_EQ(c.client_token, "client-secret-123456");
  EXPECT_EQ(c.provider_token, "provider-secret-123456");
  EXPECT_EQ(c.task_timeout, 90min);
  EXPECT_EQ(c.max_job_size, 2ull << 30);
  EXPECT_EQ(c.max_provider_concurrency, 64);
  EXPECT_EQ(c.attempt_timeout, 90s);
  EXPECT_EQ(c.max_connections_per_ip, 0);
  EXPECT_EQ(c.request_header_timeout, 2500ms);
  EXPECT_EQ(c.admission_concurrency, 8);
  EXPECT_EQ(c.admission_timeout, 2min);
  EXPECT_TRUE(c.http_tls());
}

TEST(BrokerConfigErrors, TypedValueSyntax) {
  EXPECT_EQ(error_line({{"WASIMOFF_HTTPS", "maybe"}}),
            line("WASIMOFF_HTTPS", "maybe", "expected true/false, 1/0, yes/no or on/off"));
  EXPECT_EQ(error_line({{"WASIMOFF_METRICS", ""}}),
            line("WASIMOFF_METRICS", "", "expected true/false, 1/0, yes/no or on/off"));
  EXPECT_EQ(error_line({{"WASIMOFF_QUEUE_SIZE", "0"}}),
            line("WASIMOFF_QUEUE_SIZE", "0", "must be between 1 and 1000000"));
  EXPECT_EQ(error_line({{"WASIMOFF_QUEUE_SIZE", "1000001"}}),
            line("WASIMOFF_QUEUE_SIZE", "1000001", "must be between 1 and 1000000"));
  EXPECT_EQ(error_line({{"WASIMOFF_QUEUE_SIZE", "many"}}),
            line("WASIMOFF_QUEUE_SIZE", "many", "expected a decimal integer"));
  EXPECT_EQ(error_line({{"WASIMOFF_MAX_UPLOAD_SIZE", "1023"}}),
            line("WASIMOFF_MAX_UPLOAD_SIZE", "1023", "must be at least 1 KiB"));
  EXPECT_EQ(error_line({{"WASIMOFF_MAX_UPLOAD_SIZE", "10MB"}}),
            line("WASIMOFF_MAX_UPLOAD_SIZE", "10MB",
                 "unknown size unit \"MB\" (use K/KiB, M/MiB or G/GiB; all are binary multiples)"));
  EXPECT_EQ(error_line({{"WASIMOFF_MAX_MESSAGE_SIZE", "2GiB"}}),
            line("WASIMOFF_MAX_MESSAGE_SIZE", "2GiB", "must be between 1 MiB and 1 GiB"));
  EXPECT_EQ(error_line({{"WASIMOFF_MAX_MESSAGE_SIZE", "512K"}}),
            line("WASIMOFF_MAX_MESSAGE_SIZE", "512K", "must be between 1 MiB and 1 GiB"));
  EXPECT_EQ(error_line({{"WASIMOFF_MAX_JOB_SIZE", "512K"}}),
            line("WASIMOFF_MAX_JOB_SIZE", "512K", "must be at least 1 MiB"));
  EXPECT_EQ(error_line({{"WASIMOFF_MAX_PROVIDER_CONCURRENCY", "0"}}),
            line("WASIMOFF_MAX_PROVIDER_CONCURRENCY", "0", "must be between 1 and 65536"));
  EXPECT_EQ(error_line({{"WASIMOFF_MAX_CONNECTIONS_PER_IP", "10001"}}),
            line("WASIMOFF_MAX_CONNECTIONS_PER_IP", "10001", "must be between 0 and 10000"));
  EXPECT_EQ(error_line({{"WASIMOFF_TASK_TIMEOUT", "2d"}}),
            line("WASIMOFF_TASK_TIMEOUT", "2d", "unknown duration unit \"d\" (use ms, s, m or h)"));
  EXPECT_EQ(load({{"WASIMOFF_TASK_TIMEOUT", "0"}}).config.task_timeout, 0ms);
  EXPECT_EQ(load({{"WASIMOFF_TASK_TIMEOUT", ""}}).config.task_timeout, 0ms);
  EXPECT_EQ(load({{"WASIMOFF_TASK_TIMEOUT", "30"}}).config.task_timeout, 30s);
  EXPECT_EQ(load({{"WASIMOFF_ATTEMPT_TIMEOUT", "0"}}).config.attempt_timeout, 0ms);
}

TEST(BrokerConfigErrors, Addresses) {
  EXPECT_EQ(error_line({{"WASIMOFF_HTTP_LISTEN", ":0"}}),
            line("WASIMOFF_HTTP_LISTEN", ":0", "port must be a number between 1 and 65535"));
  EXPECT_EQ(error_line({{"WASIMOFF_HTTP_LISTEN", ":65536"}}),
            line("WASIMOFF_HTTP_LISTEN", ":65536", "port must be a number between 1 and 65535"));
  EXPECT_EQ(error_line({{"WASIMOFF_QUIC_LISTEN", "localhost"}}),
            line("WASIMOFF_QUIC_LISTEN", "localhost",
                 "missing port (expected host:port, :port or [v6addr]:port)"));
  EXPECT_EQ(error_line({{"WASIMOFF_QUIC_LISTEN", "::1:443"}}),
            line("WASIMOFF_QUIC_LISTEN", "::1:443",
                 "IPv6 addresses must be enclosed in brackets, e.g. [::1]:4080"));
  // The same port number for TCP and UDP is fine.
  auto c = load({{"WASIMOFF_HTTP_LISTEN", ":443"}, {"WASIMOFF_QUIC_LISTEN", ":443"}}).config;
  EXPECT_EQ(c.http_listen.port, c.quic_listen.port);
}

TEST(BrokerConfigErrors, TransportUrl) {
  EXPECT_EQ(error_line({{"WASIMOFF_TRANSPORT_URL", "http://example.org/transport"}}),
            line("WASIMOFF_TRANSPORT_URL", "http://example.org/transport",
                 "must be an https:// URL (WebTransport always uses TLS)"));
  EXPECT_EQ(error_line({{"WASIMOFF_TRANSPORT_URL", "https://example.org"}}),
            line("WASIMOFF_TRANSPORT_URL", "https://example.org",
                 "must have a non-empty path, e.g. https://example.org/transport"));
  EXPECT_EQ(error_line({{"WASIMOFF_TRANSPORT_URL", "https://example.org?x=1"}}),
            line("WASIMOFF_TRANSPORT_URL", "https://example.org?x=1",
                 "must have a non-empty path, e.g. https://example.org/transport"));
  EXPECT_EQ(error_line({{"WASIMOFF_TRANSPORT_URL", "example.org/transport"}}),
            line("WASIMOFF_TRANSPORT_URL", "example.org/transport",
                 "expected an absolute URL such as https://example.org/path"));
  EXPECT_EQ(error_line({{"WASIMOFF_TRANSPORT_URL", "https:///transport"}}),
            line("WASIMOFF_TRANSPORT_URL", "https:///transport",
                 "missing host in URL (expected scheme://host/path)"));
  EXPECT_EQ(error_line({{"WASIMOFF_TRANSPORT_URL", "https://h/t#frag"}}),
            line("WASIMOFF_TRANSPORT_URL", "https://h/t#frag", "must not have a #fragment"));
  auto c = load({{"WASIMOFF_TRANSPORT_URL", "https://[2001:db8::1]:8443/x/y"}}).config;
  EXPECT_EQ(c.transport_url.host, "2001:db8::1");
  EXPECT_EQ(c.transport_url.path, "/x/y");
}

TEST(BrokerConfigErrors, CertificatePairsNeedBothOrNeither) {
  EXPECT_EQ(error_line({{"WASIMOFF_QUIC_CERT", "/etc/c.pem"}}),
            line("WASIMOFF_QUIC_CERT", "/etc/c.pem",
                 "WASIMOFF_QUIC_KEY must be set too (set both or neither)"));
  EXPECT_EQ(error_line({{"WASIMOFF_QUIC_KEY", "/etc/k.pem"}}),
            line("WASIMOFF_QUIC_KEY", "/etc/k.pem",
                 "WASIMOFF_QUIC_CERT must be set too (set both or neither)"));
  EXPECT_EQ(error_line({{"WASIMOFF_HTTP_CERT", "/etc/c.pem"}}),
            line("WASIMOFF_HTTP_CERT", "/etc/c.pem",
                 "WASIMOFF_HTTP_KEY must be set too (set both or neither)"));
  EXPECT_EQ(error_line({{"WASIMOFF_HTTP_KEY", "/etc/k.pem"}}),
            line("WASIMOFF_HTTP_KEY", "/etc/k.pem",
                 "WASIMOFF_HTTP_CERT must be set too (set both or neither)"));
}

TEST(BrokerConfigErrors, CertificateFilesAreLoadedAtConfigTime) {
  TempDir dir;
  auto a = make_pair(dir, "a");
  auto b = make_pair(dir, "b");
  auto missing = dir.file("missing.pem");
  auto text = dir.write("text.pem", "just some text\n");

  EXPECT_EQ(error_line({{"WASIMOFF_QUIC_CERT", missing}, {"WASIMOFF_QUIC_KEY", a.key}}),
            line("WASIMOFF_QUIC_CERT", missing,
                 "cannot read certificate file " + missing + ": No such file or directory"));
  EXPECT_EQ(error_line({{"WASIMOFF_QUIC_CERT", a.cert}, {"WASIMOFF_QUIC_KEY", missing}}),
            line("WASIMOFF_QUIC_KEY", missing,
                 "cannot read private key file " + missing + ": No such file or directory"));
  EXPECT_EQ(error_line({{"WASIMOFF_HTTP_CERT", text}, {"WASIMOFF_HTTP_KEY", a.key}}),
            line("WASIMOFF_HTTP_CERT", text,
                 "certificate file " + text +
                     " is not a PEM certificate (no valid \"-----BEGIN CERTIFICATE-----\" block)"));
  EXPECT_EQ(error_line({{"WASIMOFF_HTTP_CERT", a.cert}, {"WASIMOFF_HTTP_KEY", text}}),
            line("WASIMOFF_HTTP_KEY", text,
                 "private key file " + text +
                     " is not a PEM private key (expected \"PRIVATE KEY\" (PKCS#8), \"EC PRIVATE "
                     "KEY\" (SEC1) or \"RSA PRIVATE KEY\" (PKCS#1))"));
  EXPECT_EQ(error_line({{"WASIMOFF_QUIC_CERT", a.cert}, {"WASIMOFF_QUIC_KEY", b.key}}),
            line("WASIMOFF_QUIC_KEY", b.key,
                 "private key file " + b.key + " does not match certificate file " + a.cert));
  EXPECT_EQ(error_line({{"WASIMOFF_QUIC_CERT", a.cert}, {"WASIMOFF_QUIC_KEY", a.key}}),
            "<no error>");
}

TEST(BrokerConfigErrors, StorageSchemes) {
  for (auto ok : {"", ":memory:", "memory://", "memory://anything", "dirfs:///var/lib/w",
                  "dirfs://relative/dir", "sqlite:///var/lib/wasimoff/files.db",
                  "sqlite://files.db", "/var/lib/wasimoff", "./data", "../data"})
    EXPECT_EQ(error_line({{"WASIMOFF_FILESTORAGE", ok}}), "<no error>") << ok;
  const std::string unknown =
      "unknown storage scheme (use :memory:, memory://, dirfs://<dir>, sqlite://<file> or a "
      "directory path starting with /, ./ or ../)";
  for (auto bad : {"boltdb:///var/lib/wasimoff.db", "files.db", "data/", "s3://bucket", "memory",
                   "~/data", "DIRFS:///x"})
    EXPECT_EQ(error_line({{"WASIMOFF_FILESTORAGE", bad}}),
              line("WASIMOFF_FILESTORAGE", bad, unknown))
        << bad;
  EXPECT_EQ(error_line({{"WASIMOFF_FILESTORAGE", "dirfs://"}}),
            line("WASIMOFF_FILESTORAGE", "dirfs://",
                 "dirfs:// needs a directory, e.g. dirfs:///var/lib/wasimoff"));
  EXPECT_EQ(error_line({{"WASIMOFF_FILESTORAGE", "sqlite://"}}),
            line("WASIMOFF_FILESTORAGE", "sqlite://",
                 "sqlite:// needs a database file, e.g. sqlite:///var/lib/wasimoff/files.db"));
}

TEST(BrokerConfigErrors, ExplicitStaticFilesMustBeAReadableDirectory) {
  TempDir dir;
  auto file = dir.write("index.html", "<html></html>");
  auto missing = dir.file("nope");
  EXPECT_EQ(error_line({{"WASIMOFF_STATIC_FILES", missing}}),
            line("WASIMOFF_STATIC_FILES", missing, "directory does not exist"));
  EXPECT_EQ(error_line({{"WASIMOFF_STATIC_FILES", file}}),
            line("WASIMOFF_STATIC_FILES", file, "not a directory"));
  EXPECT_EQ(error_line({{"WASIMOFF_STATIC_FILES", ""}}),
            line("WASIMOFF_STATIC_FILES", "", "must name a readable directory"));
  auto c = load({{"WASIMOFF_STATIC_FILES", dir.path().string() + "/./"}}).config;
  EXPECT_TRUE(c.static_files_explicit);
  EXPECT_TRUE(std::filesystem::equivalent(c.static_files, dir.path()));
}

TEST(BrokerConfigErrors, UnreadableStaticDirectory) {
  TempDir dir;
  auto locked = dir.path() / "locked";
  std::filesystem::create_directory(locked);
  std::filesystem::permissions(locked, std::filesystem::perms::none);
  auto expected = line("WASIMOFF_STATIC_FILES", locked.string(),
                       "directory is not readable (permission denied)");
  // Root reads everything, so the check runs in a child process as an unprivileged user.
  EXPECT_EXIT(
      {
        if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) std::_Exit(3);
        std::_Exit(error_line({{"WASIMOFF_STATIC_FILES", locked.string()}}) == expected ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
  std::filesystem::permissions(locked, std::filesystem::perms::owner_all);
}

TEST(BrokerConfigErrors, OriginPatterns) {
  EXPECT_EQ(error_line({{"WASIMOFF_ALLOWED_ORIGINS", "localhost:5173,https://example.org"}}),
            line("WASIMOFF_ALLOWED_ORIGINS", "localhost:5173,https://example.org",
                 "origin pattern \"https://example.org\" must not contain a scheme; write "
                 "host[:port] patterns such as example.org or localhost:5173"));
  EXPECT_EQ(error_line({{"WASIMOFF_ALLOWED_ORIGINS", "example.org/app"}}),
            line("WASIMOFF_ALLOWED_ORIGINS", "example.org/app",
                 "origin pattern \"example.org/app\" must not contain '/'; write host[:port]"));
}

TEST(BrokerConfigErrors, TokensWithWhitespaceAreRejectedAndMasked) {
  EXPECT_EQ(error_line({{"WASIMOFF_CLIENT_TOKEN", "abcdefgh ijklmnop"}}),
            line("WASIMOFF_CLIENT_TOKEN", "(set, 17 bytes)",
                 "must not contain whitespace or control characters"));
  EXPECT_EQ(error_line({{"WASIMOFF_PROVIDER_TOKEN", "a\tb"}}),
            line("WASIMOFF_PROVIDER_TOKEN", "(set, 3 bytes)",
                 "must not contain whitespace or control characters"));
  EXPECT_EQ(error_line({{"WASIMOFF_PROVIDER_TOKEN", "secret\x7f"}}),
            line("WASIMOFF_PROVIDER_TOKEN", "(set, 7 bytes)",
                 "must not contain whitespace or control characters"));
}

TEST(BrokerConfigErrors, ValuesAreEscapedToKeepOneLine) {
  auto what = error_line({{"WASIMOFF_HTTPS", "yes\nno \"x\""}});
  EXPECT_EQ(what, line("WASIMOFF_HTTPS", "yes\\nno \\\"x\\\"",
                       "expected true/false, 1/0, yes/no or on/off"));
  EXPECT_EQ(what.find('\n'), std::string::npos);
  try {
    load({{"WASIMOFF_HTTPS", "maybe"}});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.variable, "WASIMOFF_HTTPS");
    EXPECT_EQ(e.value, "maybe");
    EXPECT_EQ(e.reason, "expected true/false, 1/0, yes/no or on/off");
  }
}

TEST(BrokerConfigWarnings, UnknownAndIgnoredVariables) {
  auto w = load({{"WASIMOFF_HTTP_LISTN", ":1"},
                 {"WASIMOFF_BENCHMODE", "1"},
                 {"WASIMOFF_CLOUD_CREDENTIALS", "x"},
                 {"WASIMOFF_CLOUD_FUNCTION", "x"},
                 {"WASIMOFF_CLOUD_CONCURRENCY", "3"},
                 {"HOME_NOT_OURS", "x"}})
               .warnings;
  EXPECT_THAT(w, Contains("unknown variable WASIMOFF_HTTP_LISTN is ignored (check the spelling; "
                          "wasimoff-broker --help lists all variables)"));
  for (auto v1 : {"WASIMOFF_BENCHMODE", "WASIMOFF_CLOUD_CREDENTIALS", "WASIMOFF_CLOUD_FUNCTION",
                  "WASIMOFF_CLOUD_CONCURRENCY"})
    EXPECT_THAT(w, Contains(std::string(v1) +
                            " is a wasimoff v1 setting that this broker does not implement; it is "
                            "ignored"));
  for (const auto& s : w) EXPECT_EQ(s.find("HOME_NOT_OURS"), std::string::npos) << s;
  // Known variables produce no warnings.
  for (const auto& s : load({{"WASIMOFF_DEBUG", "true"}}).warnings)
    EXPECT_EQ(s.find("WASIMOFF_DEBUG"), std::string::npos) << s;
}

TEST(BrokerConfigWarnings, LoneStarOriginAndHttpsWithEphemeralCertificate) {
  auto w = load({{"WASIMOFF_ALLOWED_ORIGINS", "example.org, *"}}).warnings;
  EXPECT_THAT(w, Contains("WASIMOFF_ALLOWED_ORIGINS contains \"*\": every origin is allowed"));
  auto none = load({{"WASIMOFF_ALLOWED_ORIGINS", "*.example.org"}}).warnings;
  EXPECT_THAT(none, ::testing::Not(Contains(HasSubstr("every origin"))));

  auto https = load({{"WASIMOFF_HTTPS", "true"}}).warnings;
  EXPECT_THAT(https,
              Contains(HasSubstr("WASIMOFF_HTTPS=true with the ephemeral QUIC certificate")));
  TempDir dir;
  auto p = make_pair(dir, "q");
  auto loaded = load({{"WASIMOFF_HTTPS", "true"},
                      {"WASIMOFF_QUIC_CERT", p.cert},
                      {"WASIMOFF_QUIC_KEY", p.key}})
                    .warnings;
  EXPECT_THAT(loaded, ::testing::Not(Contains(HasSubstr("WASIMOFF_HTTPS=true"))));
}

TEST(BrokerConfigHelp, ListsEveryVariableWithTypeAndDefault) {
  auto help = broker_help_text();
  EXPECT_THAT(help, HasSubstr("VARIABLE"));
  EXPECT_THAT(help, HasSubstr("DESCRIPTION"));
  for (const auto& v : broker_config_variables()) {
    // Each variable appears on one row together with its type, default and description.
    auto pos = help.find("  " + v.name + " ");
    ASSERT_NE(pos, std::string::npos) << v.name;
    auto row = help.substr(pos, help.find('\n', pos) - pos);
    EXPECT_THAT(row, AllOf(HasSubstr(std::string(v.type)), HasSubstr(std::string(v.help_default)),
                           HasSubstr(std::string(v.description))))
        << row;
  }
  for (auto def : {":4080", ":4443", "https://localhost:4443/transport", ":memory:", "2048",
                   "256MiB", "64MiB", "none", "empty (open)"})
    EXPECT_THAT(help, HasSubstr(def));
  EXPECT_THAT(help, HasSubstr(".env"));
  EXPECT_THAT(help, HasSubstr("config.env"));
  EXPECT_LT(help.find("process environment"), help.find(".env in the current"));
  EXPECT_LT(help.find(".env in the current"), help.find("config.env in the current"));
  EXPECT_EQ(help.back(), '\n');
}

TEST(BrokerConfigLog, EffectiveConfigurationMasksTokens) {
  BrokerConfig c;
  c.client_token = "client-secret-123456";
  c.provider_token = "";
  c.max_upload_size = 3u << 20;
  c.task_timeout = 90s;
  auto lines = describe_effective_config(c);
  EXPECT_EQ(lines.size(), broker_config_variables().size());
  EXPECT_THAT(lines, Contains("WASIMOFF_CLIENT_TOKEN=(set, 20 bytes)"));
  for (const auto& l : lines) EXPECT_EQ(l.find("clie"), std::string::npos) << l;
  EXPECT_THAT(lines, Contains("WASIMOFF_PROVIDER_TOKEN=(empty: open)"));
  EXPECT_THAT(lines, Contains("WASIMOFF_HTTP_LISTEN=:4080"));
  EXPECT_THAT(lines, Contains("WASIMOFF_MAX_UPLOAD_SIZE=3MiB"));
  EXPECT_THAT(lines, Contains("WASIMOFF_TASK_TIMEOUT=1m30s"));
  EXPECT_THAT(lines, Contains("WASIMOFF_TRANSPORT_URL=https://localhost:4443/transport"));
  for (const auto& l : lines) EXPECT_EQ(l.find("secret-123456"), std::string::npos) << l;
}

TEST(BrokerConfigLog, EffectiveValuesParseBackToTheSameConfig) {
  TempDir dir;
  Env env{{"WASIMOFF_HTTP_LISTEN", "[::1]:9000"},
          {"WASIMOFF_MAX_UPLOAD_SIZE", "1536K"},
          {"WASIMOFF_TASK_TIMEOUT", "2h5s"},
          {"WASIMOFF_ALLOWED_ORIGINS", "a.org, b.org"},
          {"WASIMOFF_STATIC_FILES", dir.path().string()}};
  auto first = load(env).config;
  Env again;
  for (const auto& l : describe_effective_config(first)) {
    auto eq = l.find('=');
    auto name = l.substr(0, eq);
    if (name.find("TOKEN") != std::string::npos) continue;  // masked
    again[name] = l.substr(eq + 1);
  }
  EXPECT_EQ(load(again).config, first);
}

TEST(BrokerConfigEnvFiles, MalformedLineBecomesAConfigError) {
  TempDir dir;
  dir.write("config.env", "WASIMOFF_DEBUG=true\nWASIMOFF_QUEUE_SIZE 10\n");
  try {
    load_broker_env_files(dir.path());
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "wasimoff-broker: configuration error: " +
                                         dir.file("config.env") + ":2: expected KEY=value");
  }
}

TEST(BrokerConfigEnvFiles, FileValuesReachTheConfiguration) {
  TempDir dir;
  ::unsetenv("WASIMOFF_QUEUE_SIZE");
  dir.write("config.env", "export WASIMOFF_QUEUE_SIZE=77 # from the file\n");
  load_broker_env_files(dir.path());
  auto c = load_broker_config(env::getenv_value, env::environment_names()).config;
  ::unsetenv("WASIMOFF_QUEUE_SIZE");
  EXPECT_EQ(c.queue_size, 77);
}

}  // namespace
}  // namespace wasimoff::broker
