// Command line and configuration of the real broker (docs/configuration.md §1, §4, §6, §7, §8):
// --help, --version, unknown arguments, one-line configuration errors with exit status 2,
// .env / config.env precedence, warnings, the startup log and a port that is already in use.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>
#include <thread>

#include "broker_http_fixture.h"

namespace wasimoff::testing::broker_http {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::vector<std::string> kVariables = {
    "WASIMOFF_HTTP_LISTEN",     "WASIMOFF_QUIC_LISTEN",
    "WASIMOFF_QUIC_CERT",       "WASIMOFF_QUIC_KEY",
    "WASIMOFF_HTTPS",           "WASIMOFF_HTTP_CERT",
    "WASIMOFF_HTTP_KEY",        "WASIMOFF_TRANSPORT_URL",
    "WASIMOFF_STATIC_FILES",    "WASIMOFF_ALLOWED_ORIGINS",
    "WASIMOFF_FILESTORAGE",     "WASIMOFF_METRICS",
    "WASIMOFF_DEBUG",           "WASIMOFF_QUEUE_SIZE",
    "WASIMOFF_MAX_UPLOAD_SIZE", "WASIMOFF_MAX_MESSAGE_SIZE",
    "WASIMOFF_CLIENT_TOKEN",    "WASIMOFF_PROVIDER_TOKEN",
    "WASIMOFF_TASK_TIMEOUT",
};

std::string listen_free() {
  return "127.0.0.1:" + std::to_string(free_tcp_port());
}

TEST(Configuration, HelpListsEveryVariableAndExits0) {
  for (const char* flag : {"--help", "-h"}) {
    SCOPED_TRACE(flag);
    auto r = run_broker({flag}, {});
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.err, "");
    std::regex header_row("\\n\\s*VARIABLE\\s+TYPE\\s+DEFAULT\\s+DESCRIPTION\\s*\\n");
    EXPECT_TRUE(std::regex_search(r.out, header_row)) << r.out;
    for (const auto& name : kVariables) {
      // Each variable starts a table row.
      EXPECT_TRUE(std::regex_search(r.out, std::regex("\\n\\s*" + name + "\\s"))) << name;
    }
    // Defaults from the spec's table appear.
    EXPECT_THAT(r.out, HasSubstr(":4080"));
    EXPECT_THAT(r.out, HasSubstr("https://localhost:4443/transport"));
    EXPECT_THAT(r.out, HasSubstr("256MiB"));
    // The precedence rules.
    EXPECT_THAT(r.out, HasSubstr(".env"));
    EXPECT_THAT(r.out, HasSubstr("config.env"));
  }
}

TEST(Configuration, VersionAndUnknownArguments) {
  auto v = run_broker({"--version"}, {});
  EXPECT_EQ(v.status, 0);
  EXPECT_TRUE(std::regex_match(
      v.out, std::regex("wasimoff-broker [0-9]+\\.[0-9]+\\.[0-9]+\\S* \\(\\S+\\)\\n")))
      << v.out;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--port=4080"}, std::vector<std::string>{"serve"},
        std::vector<std::string>{"--help", "extra"}, std::vector<std::string>{"-x"}}) {
    SCOPED_TRACE(args.front());
    auto r = run_broker(args, {{"WASIMOFF_HTTP_LISTEN", listen_free()}});
    if (args.front() == "--help") {
      EXPECT_EQ(r.status, 0);  // --help is handled before the extra argument
      continue;
    }
    EXPECT_EQ(r.status, 2);
    EXPECT_THAT(r.err, HasSubstr("unknown argument"));
    EXPECT_THAT(r.err, HasSubstr(args.front()));
    EXPECT_THAT(r.err, HasSubstr("usage: wasimoff-broker"));
    EXPECT_EQ(r.out, "");
  }
}

struct BadValue {
  std::string variable;
  std::string value;
  std::map<std::string, std::string> extra = {};
  std::string shown = "";  // the value as printed, when it differs (masked / escaped)
};

// Exactly one line: wasimoff-broker: configuration error: VAR="value": reason
void expect_config_error(const BadValue& bad, const RunResult& r) {
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_EQ(r.out, "");
  const std::string shown = bad.shown.empty() ? bad.value : bad.shown;
  const std::string prefix =
      "wasimoff-broker: configuration error: " + bad.variable + "=\"" + shown + "\": ";
  EXPECT_THAT(r.err, StartsWith(prefix));
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "more than one line:\n" << r.err;
  EXPECT_GT(r.err.size(), prefix.size() + 1) << "no reason given";
}

TEST(Configuration, EachKindOfInvalidVariableIsOneLineAndExit2) {
  TempDir dir;
  auto pem = make_certificate(dir, "good");
  auto other = make_certificate(dir, "other");
  dir.write("garbage.pem", "this is not PEM\n");
  dir.write("afile", "x");
  const std::vector<BadValue> cases = {
      {"WASIMOFF_METRICS", "maybe"},
      {"WASIMOFF_DEBUG", "2"},
      {"WASIMOFF_HTTPS", ""},
      {"WASIMOFF_QUEUE_SIZE", "0"},
      {"WASIMOFF_QUEUE_SIZE", "1000001"},
      {"WASIMOFF_QUEUE_SIZE", "12abc"},
      {"WASIMOFF_MAX_UPLOAD_SIZE", "512"},
      {"WASIMOFF_MAX_UPLOAD_SIZE", "10XB"},
      {"WASIMOFF_MAX_MESSAGE_SIZE", "2GiB"},
      {"WASIMOFF_MAX_MESSAGE_SIZE", "1000"},
      {"WASIMOFF_TASK_TIMEOUT", "5x"},
      {"WASIMOFF_TASK_TIMEOUT", "-1s"},
      {"WASIMOFF_HTTP_LISTEN", ":0"},
      {"WASIMOFF_HTTP_LISTEN", ":70000"},
      {"WASIMOFF_HTTP_LISTEN", "localhost"},
      {"WASIMOFF_HTTP_LISTEN", "[::1:4080"},
      {"WASIMOFF_QUIC_LISTEN", "nonsense"},
      {"WASIMOFF_TRANSPORT_URL", "http://localhost:4443/transport"},
      {"WASIMOFF_TRANSPORT_URL", "https://localhost:4443"},
      {"WASIMOFF_TRANSPORT_URL", "/transport"},
      {"WASIMOFF_FILESTORAGE", "boltdb://files.db"},
      {"WASIMOFF_FILESTORAGE", "dirfs://" + dir.file("afile") + "/sub"},
      {"WASIMOFF_ALLOWED_ORIGINS", "https://app.example"},
      {"WASIMOFF_ALLOWED_ORIGINS", "ok.example,app.example/path"},
      {"WASIMOFF_STATIC_FILES", dir.file("missing")},
      {"WASIMOFF_STATIC_FILES", dir.file("afile")},
      {"WASIMOFF_QUIC_CERT", pem.cert},  // key missing
      {"WASIMOFF_HTTP_KEY", pem.key},    // certificate missing
      {"WASIMOFF_HTTP_CERT", dir.file("nope.pem"), {{"WASIMOFF_HTTP_KEY", pem.key}}},
      {"WASIMOFF_QUIC_CERT", dir.file("garbage.pem"), {{"WASIMOFF_QUIC_KEY", pem.key}}},
      {"WASIMOFF_HTTP_KEY", other.key, {{"WASIMOFF_HTTP_CERT", pem.cert}}},  // mismatch
      {"WASIMOFF_METRICS", "ye\ns", {}, "ye\\ns"},                           // escaped
  };
  for (const auto& bad : cases) {
    SCOPED_TRACE(bad.variable + "=" + bad.value);
    auto env = bad.extra;
    env[bad.variable] = bad.value;
    if (!env.count("WASIMOFF_HTTP_LISTEN")) env["WASIMOFF_HTTP_LISTEN"] = listen_free();
    expect_config_error(bad, run_broker({}, env));
  }
}

TEST(Configuration, TokensAreMaskedInErrorsAndLogs) {
  auto r = run_broker({}, {{"WASIMOFF_CLIENT_TOKEN", "very secret value"},
                           {"WASIMOFF_HTTP_LISTEN", listen_free()}});
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, StartsWith("wasimoff-broker: configuration error: WASIMOFF_CLIENT_TOKEN=\""));
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr("very secret value")));
  EXPECT_THAT(r.err, HasSubstr("whitespace"));
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1);

  auto p = run_broker(
      {}, {{"WASIMOFF_PROVIDER_TOKEN", "tab\there"}, {"WASIMOFF_HTTP_LISTEN", listen_free()}});
  EXPECT_EQ(p.status, 2);
  EXPECT_THAT(p.err,
              StartsWith("wasimoff-broker: configuration error: WASIMOFF_PROVIDER_TOKEN=\""));
  EXPECT_EQ(p.err.find('\n'), p.err.size() - 1);

  // The startup log of a running broker shows the configuration without the token.
  BrokerProcess broker(Env{{"WASIMOFF_CLIENT_TOKEN", "hunter2-token-value"}});
  const auto log = broker.process().stderr_text();
  EXPECT_THAT(log, HasSubstr("WASIMOFF_CLIENT_TOKEN"));
  EXPECT_THAT(log, ::testing::Not(HasSubstr("hunter2-token-value")));
  // Requests with the token in the URL do not leak it into the log either.
  http_request("POST", broker.url("/api/storage/upload?token=hunter2-token-value"), {},
               wasm_bytes());
  EXPECT_EQ(broker.stop(), 0);
  EXPECT_THAT(broker.process().stderr_text(), ::testing::Not(HasSubstr("hunter2-token-value")));
}

TEST(Configuration, StartupLogAndWarnings) {
  BrokerProcess broker(Env{{"WASIMOFF_TYPO_VARIABLE", "1"},
                           {"WASIMOFF_BENCHMODE", "1"},
                           {"WASIMOFF_ALLOWED_ORIGINS", "*"}});
  const auto log = broker.process().stderr_text();
  EXPECT_THAT(log, HasSubstr("WASIMOFF_TYPO_VARIABLE"));
  EXPECT_THAT(log, HasSubstr("WASIMOFF_BENCHMODE"));
  EXPECT_THAT(log, HasSubstr("listening on http://127.0.0.1:" + std::to_string(broker.port())));
  EXPECT_THAT(log, HasSubstr("WASIMOFF_HTTP_LISTEN=127.0.0.1:" + std::to_string(broker.port())));
  EXPECT_THAT(log, HasSubstr("certhash"));
  // Each line has a timestamp and a level.
  std::regex line_re(R"(^\S.*\d\d:\d\d:\d\d.*(info|warn|warning|error|debug|critical).*$)",
                     std::regex::icase);
  std::size_t start = 0, lines = 0;
  while (start < log.size()) {
    auto end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    std::string line = log.substr(start, end - start);
    if (!line.empty()) {
      ++lines;
      EXPECT_TRUE(std::regex_match(line, line_re)) << line;
    }
    start = end + 1;
  }
  EXPECT_GT(lines, 3u);
}

TEST(Configuration, DotEnvAndConfigEnvPrecedence) {
  TempDir cwd;
  cwd.write("config.env",
            "# the lowest-priority file\n"
            "WASIMOFF_CLIENT_TOKEN=from-config-env\n"
            "WASIMOFF_DEBUG=true\n"
            "WASIMOFF_MAX_UPLOAD_SIZE=2KiB\n"
            "export WASIMOFF_ALLOWED_ORIGINS=\"*.from-config.example\"\n");
  cwd.write(".env",
            "\n"
            "WASIMOFF_CLIENT_TOKEN='from-dotenv'\n"
            "WASIMOFF_MAX_UPLOAD_SIZE=4KiB   # inline comment\n");
  const http::Headers dotenv_token = hdrs({{"Authorization", "Bearer from-dotenv"}});
  {
    // Environment > .env > config.env.
    BrokerInDir broker(cwd.path(), {{"WASIMOFF_MAX_UPLOAD_SIZE", "8KiB"}});
    auto upload_n = [&](std::size_t n, const http::Headers& h) {
      return http_request("POST", broker.url("/api/storage/upload"), h,
                          wasm_bytes(std::string(n - 8, 'u')));
    };
    EXPECT_EQ(upload_n(100, dotenv_token).status, 200u);
    EXPECT_EQ(upload_n(100, hdrs({{"Authorization", "Bearer from-config-env"}})).status, 401u);
    EXPECT_EQ(upload_n(6000, dotenv_token).status, 200u);  // env's 8 KiB, not .env's 4 KiB
    EXPECT_EQ(upload_n(9000, dotenv_token).status, 413u);
    EXPECT_EQ(http_get(broker.url("/debug/state")).status, 200u);  // only in config.env
    auto pre = http_request("OPTIONS", broker.url("/api/storage/upload"),
                            hdrs({{"Origin", "https://a.from-config.example"},
                                  {"Access-Control-Request-Method", "POST"}}));
    EXPECT_EQ(pre.status, 204u);
    EXPECT_EQ(broker.process().stop(), 0);
  }
  {
    // Without the environment variable, .env wins over config.env.
    BrokerInDir broker(cwd.path(), {});
    auto upload_n = [&](std::size_t n) {
      return http_request("POST", broker.url("/api/storage/upload"), dotenv_token,
                          wasm_bytes(std::string(n - 8, 'u')));
    };
    EXPECT_EQ(upload_n(3000).status, 200u);
    EXPECT_EQ(upload_n(5000).status, 413u);
    EXPECT_EQ(broker.process().stop(), 0);
  }
}

TEST(Configuration, MissingEnvFilesAreSkippedAndAMalformedLineIsAnError) {
  TempDir empty;
  {
    BrokerInDir broker(empty.path(), {});
    EXPECT_EQ(http_get(broker.url("/healthz")).status, 200u);
  }
  TempDir bad;
  bad.write(".env", "WASIMOFF_DEBUG=true\nthis line is not an assignment\n");
  auto r = run_broker({}, {{"WASIMOFF_HTTP_LISTEN", listen_free()}}, bad.path());
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, StartsWith("wasimoff-broker: configuration error: "));
  EXPECT_THAT(r.err, HasSubstr(".env:2"));
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;

  TempDir bad_config;
  bad_config.write("config.env", "WASIMOFF_DEBUG='unterminated\n");
  auto c = run_broker({}, {{"WASIMOFF_HTTP_LISTEN", listen_free()}}, bad_config.path());
  EXPECT_EQ(c.status, 2);
  EXPECT_THAT(c.err, HasSubstr("config.env:1"));
  EXPECT_EQ(c.err.find('\n'), c.err.size() - 1) << c.err;

  // A bad value that comes from a file is reported like one from the environment.
  TempDir bad_value;
  bad_value.write("config.env", "WASIMOFF_QUEUE_SIZE=lots\n");
  auto v = run_broker({}, {{"WASIMOFF_HTTP_LISTEN", listen_free()}}, bad_value.path());
  EXPECT_EQ(v.status, 2);
  EXPECT_THAT(v.err,
              StartsWith("wasimoff-broker: configuration error: WASIMOFF_QUEUE_SIZE=\"lots\": "));
}

TEST(Configuration, PortInUseExits1NamingTheListener) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string port = std::to_string(ntohs(addr.sin_port));

  auto r = run_broker({}, {{"WASIMOFF_HTTP_LISTEN", "127.0.0.1:" + port}});
  close(fd);
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("http"));
  EXPECT_THAT(r.err, HasSubstr("127.0.0.1:" + port));
  EXPECT_THAT(r.err, HasSubstr("in use"));
}

TEST(Configuration, QuicPortInUseExits1NamingTheListener) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string port = std::to_string(ntohs(addr.sin_port));

  auto r = run_broker(
      {}, {{"WASIMOFF_HTTP_LISTEN", listen_free()}, {"WASIMOFF_QUIC_LISTEN", "127.0.0.1:" + port}});
  close(fd);
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_THAT(r.err, ::testing::ContainsRegex("[Qq][Uu][Ii][Cc]"));
  EXPECT_THAT(r.err, HasSubstr("127.0.0.1:" + port));
  EXPECT_THAT(r.err, HasSubstr("in use"));
}

TEST(Configuration, HttpAndQuicMayShareThePortNumber) {
  auto port = std::to_string(free_tcp_port());
  BrokerProcess broker(Env{{"WASIMOFF_HTTP_LISTEN", "127.0.0.1:" + port},
                           {"WASIMOFF_QUIC_LISTEN", "127.0.0.1:" + port}},
                       false);
  // BrokerProcess picked its own port; ask the broker on the one we gave it.
  bool ready = false;
  for (auto end = std::chrono::steady_clock::now() + std::chrono::seconds(15);
       std::chrono::steady_clock::now() < end && !ready && broker.process().running();) {
    try {
      ready = http_get("http://127.0.0.1:" + port + "/healthz").status == 200;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  }
  EXPECT_TRUE(ready) << broker.process().stderr_text();
}

}  // namespace
}  // namespace wasimoff::testing::broker_http
