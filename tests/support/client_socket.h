// A blocking front for the client WebSocket (/api/client/ws, docs/protocol.md §10) in tests and
// benchmarks: websocket::connect() + protocol::Messenger on their own thread. Requests are
// sent concurrently and their outcomes delivered through futures, so a test can submit many
// tasks on one socket and observe responses that complete out of order.
#pragma once

#include <google/protobuf/message.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "net/http/message.h"
#include "protocol/messenger.h"

namespace wasimoff::testing {

class ClientSocket {
 public:
  // Connects to `url` (e.g. "ws://127.0.0.1:4080/api/client/ws") offering `subprotocols`.
  // Throws std::runtime_error (with the HTTP status of a refused upgrade) on failure.
  explicit ClientSocket(std::string url,
                        std::vector<std::string> subprotocols = {"wasimoff_provider_v1_protobuf"},
                        http::Headers headers = {});
  // Closes the socket (if open) and joins the thread.
  ~ClientSocket();
  ClientSocket(const ClientSocket&) = delete;
  ClientSocket& operator=(const ClientSocket&) = delete;

  // Sends `request` as an Envelope Request; the future yields the Response (error text or
  // payload). A closed socket yields the error "client socket closed".
  std::future<protocol::CallResult> call(const google::protobuf::Message& request);

  // Sends `request` and waits (bounded) for the typed Response; throws on timeout. Returns the
  // Envelope error text instead when the call failed as a whole.
  template <typename Resp>
  std::variant<Resp, std::string> call_as(
      const google::protobuf::Message& request,
      std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    auto f = call(request);
    if (f.wait_for(timeout) != std::future_status::ready)
      throw std::runtime_error("client socket: no response in time");
    auto r = f.get();
    if (!r.ok()) return r.error();
    Resp out;
    if (protocol::unpack_any(r.payload, &out) != protocol::UnpackStatus::kOk)
      return "unexpected response payload " + protocol::Messenger::describe_payload(r.payload);
    return out;
  }

  // Closes the socket with 1000 (pending calls fail) and waits until it is closed.
  void close();
  bool closed() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace wasimoff::testing
