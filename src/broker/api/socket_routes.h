// The two WebSocket endpoints on the TCP listener (docs/protocol.md §6, §10):
//   GET /api/provider/ws  provider connections → ProviderRegistry
//   GET /api/client/ws    asynchronous client task submission → TaskService
#pragma once

#include "broker/api/access_policy.h"
#include "broker/providers/provider_registry.h"
#include "broker/tasks/task_service.h"
#include "net/http/server.h"
#include "net/websocket/websocket_transport.h"

namespace wasimoff::broker {

struct SocketRoutesOptions {
  ProviderRegistry& registry;
  TaskService& tasks;
  const AccessPolicy& access;
  websocket::TransportOptions transport;
};

void register_socket_routes(http::HttpServer& server, SocketRoutesOptions options);

// Serves the client-WebSocket protocol on an accepted transport until it closes; closing the
// socket cancels every pending task of that socket.
void serve_client_socket(asio::any_io_executor ex, std::unique_ptr<protocol::Transport> transport,
                         TaskService& tasks);

}  // namespace wasimoff::broker
