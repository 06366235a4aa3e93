// How a client reaches a Broker: its HTTP(S) address, the client token and connection limits.
// Shared by the Connect client, the client WebSocket and the file uploader.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "net/http/client.h"
#include "net/http/message.h"

namespace wasimoff::client {

// The default Broker address, as printed by `make run`.
inline constexpr std::string_view kDefaultBroker = "http://localhost:4080";

struct BrokerOptions {
  // HTTP(S) address of the Broker: "http://host:port", optionally with a base path when it is
  // served below a prefix by a reverse proxy ("https://example.org/wasimoff"). A bare "host:port"
  // means http://host:port.
  std::string broker = std::string(kDefaultBroker);
  std::string token;      // client token (WASIMOFF_CLIENT_TOKEN of the Broker), sent as Bearer
  std::string ca_file;    // CA certificates for https:// (system store when empty)
  bool insecure = false;  // skip TLS certificate checks (self-signed test setups only)
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(10);
  // Uploads, downloads and other short requests: longest time without progress on the socket.
  std::chrono::milliseconds io_timeout = std::chrono::seconds(60);
  // Tasks and jobs: the deadline sent as Connect-Timeout-Ms (the Broker cancels the task when it
  // passes). Without it a call waits as long as the task runs, bounded by kMaxTaskWait.
  std::optional<std::chrono::milliseconds> task_timeout;
  std::string user_agent;  // default "wasimoff-cli/<version>"
};

// Upper bound for waiting on one task response when no task_timeout is set (tasks may run for
// hours; a socket wait must still end some day).
inline constexpr std::chrono::hours kMaxTaskWait{24};

// A parsed Broker address.
struct BrokerAddress {
  http::Url url;          // scheme, host and port (target unused)
  std::string base_path;  // "" or "/prefix" without trailing '/'

  std::string origin() const { return url.origin(); }
  // Request target for an API path ("/api/…"), including the base path.
  std::string target(std::string_view api_path) const { return base_path + std::string(api_path); }
  // "ws://host:port<base>/api/client/ws" (wss:// for https).
  std::string websocket_url() const;
  // For messages: "http://host:port<base>".
  std::string display() const { return origin() + base_path; }
};

// Parses BrokerOptions::broker. Throws std::invalid_argument with a message naming the value
// when it is not an http(s) address.
BrokerAddress parse_broker_address(std::string_view broker);

// The headers every request carries: Authorization (when a token is set) and User-Agent.
http::Headers standard_headers(const BrokerOptions& options);

// HTTP client options (timeouts, TLS) derived from the broker options. `io_timeout` overrides
// the per-read/write timeout (task calls wait longer than uploads).
http::ClientOptions http_options(const BrokerOptions& options,
                                 std::chrono::milliseconds io_timeout);

// The user agent: options.user_agent or "wasimoff-cli/<version>".
std::string user_agent(const BrokerOptions& options);

}  // namespace wasimoff::client
