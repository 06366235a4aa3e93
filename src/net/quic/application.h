// The interface between a QUIC connection and the protocol above it (HTTP/3). All calls happen
// on the connection's event loop; none may destroy the Connection synchronously.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace wasimoff::quic {

class Application {
 public:
  virtual ~Application() = default;

  // 1-RTT keys are installed: the application may open its streams now (server: the TX key of
  // the application level arrived; client: the handshake completed).
  virtual void on_ready() = 0;
  // Bytes of a stream in order. The bytes count against the stream's receive window until the
  // application calls Connection::consume() for them (flow-control back-pressure).
  virtual void on_stream_data(std::int64_t stream_id, std::span<const std::uint8_t> data,
                              bool fin) = 0;
  // The peer reset its sending side of the stream (RESET_STREAM).
  virtual void on_stream_reset(std::int64_t stream_id, std::uint64_t app_error_code) = 0;
  // The peer asked us to stop sending (STOP_SENDING); ngtcp2 reset our side in response. Noticed
  // when we next try to write the stream (ngtcp2 0.12 has no callback for the frame itself), so
  // the code is reported as 0.
  virtual void on_stop_sending(std::int64_t stream_id, std::uint64_t app_error_code) = 0;
  // The stream is fully closed in both directions and forgotten by QUIC.
  virtual void on_stream_closed(std::int64_t stream_id) = 0;
  // Buffered send data of the stream was acknowledged or flow-control credit arrived: writers
  // waiting for Connection::buffered() to drop may continue.
  virtual void on_send_progress(std::int64_t stream_id) = 0;
  // A DATAGRAM frame (RFC 9221).
  virtual void on_datagram(std::span<const std::uint8_t> /*data*/) {}
  // The endpoint is shutting down: start an orderly close (GOAWAY, session close) and call
  // Connection::close() when done. The endpoint force-closes after its drain deadline.
  virtual void on_shutdown() {}
  // The connection is gone (either side closed it, idle timeout, handshake failure). No calls
  // follow; the Connection must not be used afterwards.
  virtual void on_closed(std::string_view reason) = 0;
};

}  // namespace wasimoff::quic
