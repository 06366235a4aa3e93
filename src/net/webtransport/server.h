// The Broker's QUIC listener: HTTP/3 for every ordinary route of the shared Router
// (docs/http-api.md §1) plus WebTransport sessions for providers on `session_path`
// (docs/protocol.md §7).
//
//   webtransport::Server server(io, {.port = 4443, .certificate = ..., .session_path =
//   "/transport",
//                                    .router = &router, .authorize = ..., .on_session = ...});
//   server.start();                 // throws with a message naming the listener
//   ...
//   co_await server.shutdown();     // GOAWAY, sessions closed with code 0, CONNECTION_CLOSE
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/async.h"
#include "contract/contract.h"
#include "net/http/router.h"
#include "net/quic/connection.h"
#include "net/tls/certificate.h"
#include "net/webtransport/connect_verdict.h"
#include "protocol/transport.h"

namespace wasimoff::quic {
class Endpoint;
}

namespace wasimoff::webtransport {

struct ServerOptions {
  std::string listen_host;  // "" = all interfaces (dual-stack)
  std::uint16_t port = 4443;
  // Current certificate; read for every new handshake (rotation keeps live sessions).
  std::function<std::shared_ptr<const tls::CertificatePair>()> certificate;
  std::string session_path = "/transport";  // path of WASIMOFF_TRANSPORT_URL
  std::uint64_t max_message_size =
      contract::limits::kMaxMessageSizeDefault;   // WASIMOFF_MAX_MESSAGE_SIZE
  std::uint64_t max_request_body = 256ull << 20;  // body cap for ordinary HTTP/3 requests
  const http::Router* router = nullptr;           // ordinary HTTP/3 requests
  // Decides a CONNECT to session_path (query options id/token, origin): 200 to accept, or
  // 400/401/403 with an optional message. Unset = accept.
  std::function<ConnectVerdict(const http::Request& connect)> authorize;
  // Called once the provider's message stream exists; the Transport is handed over.
  std::function<void(std::unique_ptr<protocol::Transport>, const http::Request& connect)>
      on_session;

  // Optional extras (same meaning as in http::ServerOptions).
  std::string server_header;
  std::function<void(http::Headers&)> common_headers;
  std::function<void(std::string_view method, unsigned status, double seconds)> observe;
  quic::ConnectionSettings connection;  // idle timeout 10 s, keep-alive 4 s, windows, stream limits
  std::size_t max_connections = 10000;
  std::size_t max_connections_per_ip = 100;
  std::chrono::milliseconds shutdown_drain{2000};
};

class Server {
 public:
  Server(asio::io_context& io, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the UDP port; throws std::runtime_error naming the listener on failure.
  void start();
  // GOAWAY on every connection, sessions closed with code 0, CONNECTION_CLOSE after a bounded
  // drain (options.shutdown_drain).
  awaitable<void> shutdown();

  std::uint16_t port() const;
  std::size_t connection_count() const;
  const quic::Endpoint& endpoint() const { return *endpoint_; }

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
  std::unique_ptr<quic::Endpoint> endpoint_;
};

}  // namespace wasimoff::webtransport
