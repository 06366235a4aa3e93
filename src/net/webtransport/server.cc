#include "net/webtransport/server.h"

#include <stdexcept>

#include "net/h3/server_connection.h"
#include "net/quic/endpoint.h"
#include "net/webtransport/draft.h"
#include "net/webtransport/session_host.h"

namespace wasimoff::webtransport {

struct Server::Impl {
  ServerOptions options;
  std::shared_ptr<SessionPolicy> policy;
};

Server::Server(asio::io_context& io, ServerOptions options) : impl_(std::make_shared<Impl>()) {
  if (!options.router) throw std::invalid_argument("webtransport::Server needs a router");
  impl_->options = std::move(options);
  const auto& o = impl_->options;
  impl_->policy = std::make_shared<SessionPolicy>(
      SessionPolicy{o.session_path, o.max_message_size, o.authorize, o.on_session});

  quic::EndpointOptions eo;
  eo.name = "quic";
  eo.host = o.listen_host;
  eo.port = o.port;
  eo.certificate = o.certificate;
  eo.alpn = "h3";
  eo.connection = o.connection;
  eo.max_connections = o.max_connections;
  eo.max_connections_per_ip = o.max_connections_per_ip;
  eo.shutdown_error_code = 0x100;  // H3_NO_ERROR
  h3::ServerConnectionOptions ho;
  ho.router = o.router;
  ho.settings = draft::local_settings();
  ho.max_request_body = o.max_request_body;
  ho.server_header = o.server_header;
  ho.common_headers = o.common_headers;
  ho.observe = o.observe;
  eo.make_application = [ho,
                         policy = impl_->policy](const std::shared_ptr<quic::Connection>& conn) {
    auto h3 = std::make_shared<h3::ServerConnection>(conn, ho);
    h3->set_extension(std::make_shared<SessionHost>(h3, policy));
    return std::shared_ptr<quic::Application>(h3);
  };
  endpoint_ = std::make_unique<quic::Endpoint>(io, std::move(eo));
}

Server::~Server() = default;

void Server::start() {
  endpoint_->start();
}

awaitable<void> Server::shutdown() {
  co_await endpoint_->shutdown(impl_->options.shutdown_drain);
}

std::uint16_t Server::port() const {
  return endpoint_->port();
}

std::size_t Server::connection_count() const {
  return endpoint_->connection_count();
}

}  // namespace wasimoff::webtransport
