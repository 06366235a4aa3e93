// A small HTTP/1.1 client (plain and TLS) for the provider (file downloads), the CLI, the
// benchmarks and the tests. One HttpClient keeps one keep-alive connection to one origin and
// reconnects when it was closed; requests on one client are sequential.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "common/async.h"
#include "net/http/message.h"

namespace wasimoff::http {

struct Url {
  std::string scheme;  // "http" / "https" (also "ws"/"wss" are accepted by parse())
  std::string host;    // without brackets for IPv6
  std::uint16_t port = 0;
  std::string target = "/";  // path + query

  // Parses "scheme://host[:port][/path][?query]"; nullopt when malformed.
  static std::optional<Url> parse(std::string_view text);
  bool tls() const { return scheme == "https" || scheme == "wss"; }
  std::string origin() const;     // "http://host:port" (brackets for IPv6)
  std::string authority() const;  // "host:port" as used in the Host header
};

struct ClientOptions {
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(10);
  std::chrono::milliseconds io_timeout =
      std::chrono::seconds(60);  // per read/write without progress
  std::uint64_t max_response_body = 1ull << 30;
  // TLS: verify against this CA file, or the system store when empty; `insecure` skips checks
  // (tests with self-signed certificates only).
  std::string ca_file;
  bool insecure = false;
  std::string user_agent;  // default "wasimoff/<version>"
};

struct ClientResponse {
  unsigned status = 0;
  Headers headers;
  std::string body;
};

// Thrown for transport failures (connect refused, timeout, TLS, malformed response). The message
// names the URL, e.g. "GET http://127.0.0.1:4080/healthz: Connection refused".
class HttpClientError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class HttpClient {
 public:
  HttpClient(asio::any_io_executor ex, std::string origin, ClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request; `target` is path + query. Throws HttpClientError on transport failure
  // (any status code, including 4xx/5xx, is a normal result).
  awaitable<ClientResponse> request(std::string method, std::string target, Headers headers = {},
                                    std::string body = {});

  // Closes the connection (the next request reconnects).
  void close();

  const Url& url() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One request on a fresh connection: `fetch(ex, "GET", "http://h:1/x")`.
awaitable<ClientResponse> fetch(asio::any_io_executor ex, std::string method, std::string url,
                                Headers headers = {}, std::string body = {},
                                ClientOptions options = {});

}  // namespace wasimoff::http
