#include "common/env_config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

namespace wasimoff::env {
namespace {

using namespace std::chrono_literals;

template <typename T>
std::string error_of(const Parsed<T>& p) {
  return p.ok() ? std::string("<parsed ok>") : p.error();
}

TEST(EnvBool, AcceptsAllSpellingsCaseInsensitive) {
  for (auto t : {"true", "TRUE", "1", "yes", "Yes", "on", "ON", " true "})
    EXPECT_TRUE(parse_bool(t).value()) << t;
  for (auto f : {"false", "False", "0", "no", "NO", "off", "Off"})
    EXPECT_FALSE(parse_bool(f).value()) << f;
}

TEST(EnvBool, RejectsEverythingElse) {
  for (auto bad : {"", "2", "y", "n", "enabled", "truee", "t"})
    EXPECT_EQ(error_of(parse_bool(bad)), "expected true/false, 1/0, yes/no or on/off") << bad;
}

TEST(EnvInt, ParsesWithinRange) {
  EXPECT_EQ(parse_int("2048", 1, 1000000).value(), 2048);
  EXPECT_EQ(parse_int("1", 1, 1000000).value(), 1);
  EXPECT_EQ(parse_int("1000000", 1, 1000000).value(), 1000000);
  EXPECT_EQ(parse_int("-5", -10, 10).value(), -5);
  EXPECT_EQ(parse_int(" 42 ", 0, 100).value(), 42);
  EXPECT_EQ(parse_int("-9223372036854775808", INT64_MIN, 0).value(), INT64_MIN);
}

TEST(EnvInt, ReportsSyntaxAndRange) {
  EXPECT_EQ(error_of(parse_int("0", 1, 1000000)), "must be between 1 and 1000000");
  EXPECT_EQ(error_of(parse_int("1000001", 1, 1000000)), "must be between 1 and 1000000");
  EXPECT_EQ(error_of(parse_int("-1", 1, 10)), "must be between 1 and 10");
  EXPECT_EQ(error_of(parse_int("99999999999999999999", 1, 10)), "must be between 1 and 10");
  for (auto bad : {"", "abc", "12a", "1.5", "+3", "0x10", "1 2", "-"})
    EXPECT_EQ(error_of(parse_int(bad, 0, 100)), "expected a decimal integer") << bad;
}

TEST(EnvSize, UnitsAreBinaryMultiplesCaseInsensitive) {
  EXPECT_EQ(parse_size("1048576").value(), 1048576u);
  EXPECT_EQ(parse_size("256MiB").value(), 256ull << 20);
  EXPECT_EQ(parse_size("64M").value(), 64ull << 20);
  EXPECT_EQ(parse_size("64m").value(), 64ull << 20);
  EXPECT_EQ(parse_size("1K").value(), 1024u);
  EXPECT_EQ(parse_size("1kib").value(), 1024u);
  EXPECT_EQ(parse_size("2G").value(), 2ull << 30);
  EXPECT_EQ(parse_size("2GiB").value(), 2ull << 30);
  EXPECT_EQ(parse_size("3 MiB").value(), 3ull << 20);
  EXPECT_EQ(parse_size("0").value(), 0u);
}

TEST(EnvSize, ReportsEveryProblem) {
  EXPECT_EQ(error_of(parse_size("")),
            "expected a size such as 256MiB, 64M or 1048576 (units K/KiB, M/MiB, G/GiB)");
  EXPECT_EQ(error_of(parse_size("MiB")),
            "expected a size such as 256MiB, 64M or 1048576 (units K/KiB, M/MiB, G/GiB)");
  EXPECT_EQ(error_of(parse_size("-1")),
            "expected a size such as 256MiB, 64M or 1048576 (units K/KiB, M/MiB, G/GiB)");
  EXPECT_EQ(error_of(parse_size("64MB")),
            "unknown size unit \"MB\" (use K/KiB, M/MiB or G/GiB; all are binary multiples)");
  EXPECT_EQ(error_of(parse_size("1T")),
            "unknown size unit \"T\" (use K/KiB, M/MiB or G/GiB; all are binary multiples)");
  EXPECT_EQ(error_of(parse_size("1.5G")),
            "fractions are not supported; use a smaller unit, e.g. 1536M instead of 1.5G");
  EXPECT_EQ(error_of(parse_size("99999999999G")), "too large");
  EXPECT_EQ(error_of(parse_size("99999999999999999999999")), "too large");
  EXPECT_EQ(error_of(parse_size("1023", 1024)), "must be at least 1 KiB");
  EXPECT_EQ(error_of(parse_size("2K", 0, 1024)), "must be at most 1 KiB");
  EXPECT_EQ(error_of(parse_size("1023K", 1 << 20, 1 << 30)), "must be between 1 MiB and 1 GiB");
  EXPECT_EQ(error_of(parse_size("2G", 1 << 20, 1 << 30)), "must be between 1 MiB and 1 GiB");
  EXPECT_EQ(parse_size("1G", 1 << 20, 1 << 30).value(), 1u << 30);
}

TEST(EnvDuration, Syntax) {
  EXPECT_EQ(parse_duration("90s").value(), 90s);
  EXPECT_EQ(parse_duration("1h30m").value(), 90min);
  EXPECT_EQ(parse_duration("250ms").value(), 250ms);
  EXPECT_EQ(parse_duration("2m3s4ms").value(), 123004ms);
  EXPECT_EQ(parse_duration("45").value(), 45s);
  EXPECT_EQ(parse_duration("1.5h").value(), 90min);
  EXPECT_EQ(parse_duration(".5s").value(), 500ms);
  EXPECT_EQ(parse_duration(" 10m ").value(), 10min);
}

TEST(EnvDuration, EmptyOrZeroMeansNone) {
  EXPECT_EQ(parse_duration("").value(), 0ms);
  EXPECT_EQ(parse_duration("0").value(), 0ms);
  EXPECT_EQ(parse_duration("0s").value(), 0ms);
  EXPECT_EQ(format_duration(0ms), "none");
}

TEST(EnvDuration, ReportsEveryProblem) {
  EXPECT_EQ(error_of(parse_duration("1h30")), "missing unit after \"30\" (use ms, s, m or h)");
  EXPECT_EQ(error_of(parse_duration("1.5")), "missing unit after \"1.5\" (use ms, s, m or h)");
  EXPECT_EQ(error_of(parse_duration("3d")), "unknown duration unit \"d\" (use ms, s, m or h)");
  EXPECT_EQ(error_of(parse_duration("10us")), "unknown duration unit \"us\" (use ms, s, m or h)");
  EXPECT_EQ(error_of(parse_duration("10S")), "unknown duration unit \"S\" (use ms, s, m or h)");
  EXPECT_EQ(error_of(parse_duration("-5s")), "must not be negative");
  for (auto bad : {"h", "1h 30m", "abc", ".s", "5 s", "1h,2m"})
    EXPECT_EQ(error_of(parse_duration(bad)), "expected a duration such as 90s, 1h30m or 250ms")
        << bad;
  EXPECT_EQ(error_of(parse_duration("0.0001s")), "finer than the 1ms resolution");
  EXPECT_EQ(error_of(parse_duration("1.5ms")), "finer than the 1ms resolution");
  EXPECT_EQ(error_of(parse_duration("99999999999999999999")), "too large");
  EXPECT_EQ(error_of(parse_duration("9999999999999999h")), "too large");
}

TEST(EnvDuration, FormatRoundTrips) {
  for (std::chrono::milliseconds d : {1ms, 250ms, 90000ms, 5400000ms, 123004ms, 90061001ms}) {
    auto text = format_duration(d);
    EXPECT_EQ(parse_duration(text).value(), d) << text;
  }
  EXPECT_EQ(format_duration(5400s), "1h30m");
  EXPECT_EQ(format_duration(250ms), "250ms");
}

TEST(EnvAddress, AcceptedForms) {
  EXPECT_EQ(parse_address(":4080").value(), (Address{"", 4080}));
  EXPECT_EQ(parse_address("127.0.0.1:4080").value(), (Address{"127.0.0.1", 4080}));
  EXPECT_EQ(parse_address("localhost:1").value(), (Address{"localhost", 1}));
  EXPECT_EQ(parse_address("[::1]:65535").value(), (Address{"::1", 65535}));
  EXPECT_EQ(parse_address("[::]:443").value(), (Address{"::", 443}));
  EXPECT_EQ(parse_address("broker.example.org:443").value(), (Address{"broker.example.org", 443}));
}

TEST(EnvAddress, ToStringRoundTrips) {
  EXPECT_EQ((Address{"", 4080}).to_string(), ":4080");
  EXPECT_EQ((Address{"::1", 4443}).to_string(), "[::1]:4443");
  EXPECT_EQ((Address{"0.0.0.0", 80}).to_string(), "0.0.0.0:80");
  for (auto text : {":4080", "[::1]:4443", "example.org:443", "10.0.0.1:8080"})
    EXPECT_EQ(parse_address(text).value().to_string(), text);
}

TEST(EnvAddress, ReportsEveryProblem) {
  const std::string missing = "missing port (expected host:port, :port or [v6addr]:port)";
  const std::string range = "port must be a number between 1 and 65535";
  EXPECT_EQ(error_of(parse_address("")), missing);
  EXPECT_EQ(error_of(parse_address("localhost")), missing);
  EXPECT_EQ(error_of(parse_address("localhost:")), missing);
  EXPECT_EQ(error_of(parse_address("[::1]")), missing);
  EXPECT_EQ(error_of(parse_address("[::1]:")), missing);
  EXPECT_EQ(error_of(parse_address(":0")), range);
  EXPECT_EQ(error_of(parse_address(":65536")), range);
  EXPECT_EQ(error_of(parse_address(":99999999")), range);
  EXPECT_EQ(error_of(parse_address(":http")), range);
  EXPECT_EQ(error_of(parse_address(":-1")), range);
  EXPECT_EQ(error_of(parse_address("::1:4080")),
            "IPv6 addresses must be enclosed in brackets, e.g. [::1]:4080");
  EXPECT_EQ(error_of(parse_address("[::1:4080")), "missing ']' after the IPv6 address");
  EXPECT_EQ(error_of(parse_address("[zz::1]:4080")), "invalid IPv6 address \"zz::1\"");
  EXPECT_EQ(error_of(parse_address("[127.0.0.1]:4080")), "invalid IPv6 address \"127.0.0.1\"");
  EXPECT_EQ(error_of(parse_address("[::1]4080")), "expected ':' and a port after \"[::1]\"");
  EXPECT_EQ(error_of(parse_address("bad host:80")),
            "invalid host \"bad host\" (letters, digits, '-', '.', '_' or an IP address)");
  EXPECT_EQ(error_of(parse_address("300.1.1.1:80")), "invalid IPv4 address \"300.1.1.1\"");
}

TEST(EnvList, TrimsAndDropsEmptyEntries) {
  EXPECT_EQ(parse_list("localhost:5173, *.example.org ,,"),
            (std::vector<std::string>{"localhost:5173", "*.example.org"}));
  EXPECT_TRUE(parse_list("").empty());
  EXPECT_TRUE(parse_list(" , ,").empty());
  EXPECT_EQ(parse_list("a"), (std::vector<std::string>{"a"}));
}

TEST(EnvUrl, SplitsAbsoluteUrls) {
  auto u = parse_url("https://example.org:443/transport?x=1#f").value();
  EXPECT_EQ(u.scheme, "https");
  EXPECT_EQ(u.host, "example.org");
  EXPECT_EQ(u.port, 443);
  EXPECT_EQ(u.path, "/transport");
  EXPECT_EQ(u.query, "x=1");
  EXPECT_EQ(u.fragment, "f");
  EXPECT_EQ(u.text, "https://example.org:443/transport?x=1#f");

  auto v6 = parse_url("HTTPS://[::1]:4443/t").value();
  EXPECT_EQ(v6.scheme, "https");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 4443);
  EXPECT_EQ(v6.path, "/t");

  auto bare = parse_url("http://localhost").value();
  EXPECT_EQ(bare.host, "localhost");
  EXPECT_EQ(bare.port, 0);
  EXPECT_EQ(bare.path, "");
}

TEST(EnvUrl, ReportsEveryProblem) {
  const std::string syntax = "expected an absolute URL such as https://example.org/path";
  for (auto bad : {"", "example.org/transport", "/transport", "://x/y", "1http://x/", "ht tp://x"})
    EXPECT_NE(error_of(parse_url(bad)), "<parsed ok>") << bad;
  EXPECT_EQ(error_of(parse_url("example.org/transport")), syntax);
  EXPECT_EQ(error_of(parse_url("/transport")), syntax);
  EXPECT_EQ(error_of(parse_url("h_t://x/")), syntax);
  EXPECT_EQ(error_of(parse_url("https:///transport")),
            "missing host in URL (expected scheme://host/path)");
  EXPECT_EQ(error_of(parse_url("https://:443/transport")),
            "missing host in URL (expected scheme://host/path)");
  EXPECT_EQ(error_of(parse_url("https://h:0/t")), "URL port must be a number between 1 and 65535");
  EXPECT_EQ(error_of(parse_url("https://h:/t")), "URL port must be a number between 1 and 65535");
  EXPECT_EQ(error_of(parse_url("https://h:70000/t")),
            "URL port must be a number between 1 and 65535");
  EXPECT_EQ(error_of(parse_url("https://user@h/t")),
            "user information (user@host) is not supported in URLs");
  EXPECT_EQ(error_of(parse_url("https://[::1/t")), "missing ']' after the IPv6 address");
  EXPECT_EQ(error_of(parse_url("https://[nope]/t")), "invalid IPv6 address \"nope\"");
  EXPECT_EQ(error_of(parse_url("https://a b/t")), "must not contain spaces or control characters");
  EXPECT_EQ(error_of(parse_url("https://a\x01/t")),
            "must not contain spaces or control characters");
}

TEST(NamingRule, SpecExamples) {
  EXPECT_EQ(variable_name("HttpListen"), "WASIMOFF_HTTP_LISTEN");
  EXPECT_EQ(variable_name("TransportUrl"), "WASIMOFF_TRANSPORT_URL");
  EXPECT_EQ(variable_name("MaxUploadSize"), "WASIMOFF_MAX_UPLOAD_SIZE");
  EXPECT_EQ(variable_name("Filestorage"), "WASIMOFF_FILESTORAGE");
}

TEST(NamingRule, AcronymRuns) {
  EXPECT_EQ(variable_name("HTTPSListen"), "WASIMOFF_HTTPS_LISTEN");
  EXPECT_EQ(variable_name("QUICCert"), "WASIMOFF_QUIC_CERT");
  EXPECT_EQ(variable_name("TransportURL"), "WASIMOFF_TRANSPORT_URL");
  EXPECT_EQ(variable_name("URL"), "WASIMOFF_URL");
  EXPECT_EQ(variable_name("MyURLPath"), "WASIMOFF_MY_URL_PATH");
  EXPECT_EQ(variable_name("Http2Listen"), "WASIMOFF_HTTP2_LISTEN");
  EXPECT_EQ(variable_name("Https"), "WASIMOFF_HTTPS");
  EXPECT_EQ(split_camel_case("HTTPSListen"), (std::vector<std::string>{"HTTPS", "Listen"}));
  EXPECT_EQ(split_camel_case("ABCDef"), (std::vector<std::string>{"ABC", "Def"}));
}

TEST(ProcessEnvironment, LookupAndNames) {
  ::setenv("WASIMOFF_UNIT_TEST_PROBE", "", 1);
  EXPECT_EQ(getenv_value("WASIMOFF_UNIT_TEST_PROBE"), std::optional<std::string>(""));
  auto names = environment_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "WASIMOFF_UNIT_TEST_PROBE"), names.end());
  ::unsetenv("WASIMOFF_UNIT_TEST_PROBE");
  EXPECT_EQ(getenv_value("WASIMOFF_UNIT_TEST_PROBE"), std::nullopt);
}

}  // namespace
}  // namespace wasimoff::env
