// The HTTP/3 client side of one QUIC connection: control/QPACK streams and SETTINGS, ordinary
// requests (fetch), extended CONNECT for WebTransport, and raw session streams whose bytes go
// to hooks. Used by the native provider's WebTransport link and by tests; a client needs far
// fewer guarantees than the server, but every wait is bounded by a timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "net/h3/frame.h"
#include "net/h3/qpack.h"
#include "net/h3/request_head.h"
#include "net/h3/settings.h"
#include "net/quic/client.h"
#include "net/quic/notifier.h"

namespace wasimoff::h3 {

struct Reply {
  unsigned status = 0;
  http::Headers headers;
  std::string body;
};

class ClientConnection : public quic::Application,
                         public std::enable_shared_from_this<ClientConnection> {
 public:
  // Hooks for the WebTransport client (raw streams and the CONNECT stream's DATA).
  struct Hooks {
    std::function<void(std::int64_t sid, std::span<const std::uint8_t>, bool fin)> connect_data;
    std::function<void(std::int64_t sid, std::span<const std::uint8_t>, bool fin)> raw_data;
    std::function<void(std::int64_t sid, std::uint64_t code)>
        reset;  // RESET_STREAM or STOP_SENDING
    std::function<void(std::int64_t sid)> progress;
    std::function<void(std::string_view reason)> closed;
  };

  ClientConnection(asio::any_io_executor ex, Settings settings, std::size_t max_body = 64ull << 20);

  // Connects (resolve + QUIC handshake + SETTINGS exchange); throws std::runtime_error with the
  // reason (e.g. certificate hash mismatch, timeout).
  static awaitable<std::shared_ptr<ClientConnection>> connect(asio::any_io_executor ex,
                                                              quic::ClientOptions options,
                                                              Settings settings,
                                                              std::chrono::milliseconds timeout);

  void set_hooks(Hooks hooks) { hooks_ = std::move(hooks); }

  // An ordinary request; the body is sent with FIN, the reply body is collected (≤ max_body).
  // Throws std::runtime_error on timeout, stream reset or connection loss.
  awaitable<Reply> fetch(http::Request request, std::chrono::milliseconds timeout);

  // Extended CONNECT: returns the stream id and the response status; on 2xx the stream stays
  // open and its DATA goes to hooks.connect_data.
  awaitable<std::pair<std::int64_t, unsigned>> connect_extended(http::Request request,
                                                                std::string protocol,
                                                                std::chrono::milliseconds timeout);

  // Opens a bidi stream and writes `header` (e.g. 0x41 + session id); its bytes go to
  // hooks.raw_data. nullopt when the peer's stream limit is reached.
  std::optional<std::int64_t> open_raw_bidi(std::string header);
  void send_raw(std::int64_t sid, std::string bytes, bool fin) {
    conn().send(sid, std::move(bytes), fin);
  }
  void send_data(std::int64_t sid, std::string_view payload, bool fin);
  void consume(std::int64_t sid, std::size_t n) { conn().consume(sid, n); }
  std::size_t buffered(std::int64_t sid) const { return quic_->connection().buffered(sid); }
  void reset_stream(std::int64_t sid, std::uint64_t code) { conn().reset_stream(sid, code); }
  void stop_sending(std::int64_t sid, std::uint64_t code) { conn().stop_sending(sid, code); }
  // CONNECTION_CLOSE with H3_NO_ERROR.
  void close();
  bool closed() const { return closed_; }
  const Settings& peer_settings() const { return peer_settings_; }
  quic::Connection& conn() { return quic_->connection(); }
  std::string remote_string() { return conn().remote_string(); }
  asio::any_io_executor executor() const { return ex_; }

  // quic::Application
  void on_ready() override;
  void on_stream_data(std::int64_t sid, std::span<const std::uint8_t> data, bool fin) override;
  void on_stream_reset(std::int64_t sid, std::uint64_t code) override;
  void on_stop_sending(std::int64_t sid, std::uint64_t code) override;
  void on_stream_closed(std::int64_t sid) override;
  void on_send_progress(std::int64_t sid) override;
  void on_closed(std::string_view reason) override;

 private:
  enum class Kind {
    kResponse,
    kConnect,
    kRaw,
    kUniUnknown,
    kControl,
    kQpackEncoder,
    kQpackDecoder,
    kIgnored
  };
  struct Stream {
    Kind kind = Kind::kResponse;
    std::unique_ptr<FrameReader> reader;
    std::string head;
    Reply reply;
    bool headers_done = false;
    bool done = false;  // response complete (FIN) or failed
    std::string error;  // why it failed
  };
  awaitable<void> wait(std::chrono::steady_clock::time_point deadline);
  void handle_response_bytes(std::int64_t sid, Stream& s, std::span<const std::uint8_t> data,
                             bool fin);
  awaitable<std::int64_t> open_request_stream(std::chrono::steady_clock::time_point deadline);

  asio::any_io_executor ex_;
  Settings settings_;
  std::size_t max_body_;
  std::shared_ptr<quic::Client> quic_;
  QpackEncoder encoder_;
  QpackDecoder decoder_{64 << 10};
  Settings peer_settings_;
  bool peer_settings_received_ = false;
  bool ready_ = false;
  bool closed_ = false;
  std::string close_reason_;
  std::map<std::int64_t, Stream> streams_;
  Hooks hooks_;
  quic::Notifier notifier_;
};

}  // namespace wasimoff::h3
