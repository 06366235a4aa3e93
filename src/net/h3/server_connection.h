// The HTTP/3 server side of one QUIC connection (RFC 9114): control and QPACK streams, SETTINGS
// exchange, request streams translated to http::Request and served by the shared Router
// (responses stream back as HEADERS + DATA with back-pressure), GOAWAY on shutdown. Extended
// CONNECT (RFC 9220) and WebTransport streams are handed to an Extension (the WebTransport
// layer), so this file knows nothing about sessions or capsules.
//
// Limits: HEADERS frames ≤ max_field_section (431 otherwise), request bodies ≤ max_request_body
// (413), control frames ≤ 16 KiB, per-stream send buffer bounded (writers wait for ACKs), a
// response stalled without progress for `send_stall_timeout` is reset. Concurrent streams are
// bounded by the QUIC transport parameters.
//
// Files: server_connection.cc (QUIC events, sending helpers, lifecycle),
// server_connection_streams.cc (stream typing, control and QPACK streams, WebTransport stream
// headers), server_connection_requests.cc (request streams and responses).
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
#include "net/http/router.h"
#include "net/quic/connection.h"
#include "net/quic/notifier.h"

namespace wasimoff::h3 {

class ServerConnection;

// Takes over extended-CONNECT streams and the streams of the sessions they create.
class Extension {
 public:
  virtual ~Extension() = default;
  // An extended CONNECT arrived (the peer's SETTINGS are known by now). Answer it with
  // ServerConnection::respond().
  virtual void on_connect(std::int64_t stream_id, RequestHead head) = 0;
  // DATA payload (or FIN) on a CONNECT stream after on_connect.
  virtual void on_connect_data(std::int64_t stream_id, std::span<const std::uint8_t> data,
                               bool fin) = 0;
  // A peer stream that began with a session signal (bidi) or type (uni), and its session id.
  // Its further bytes arrive through on_stream_data; the extension credits them with consume().
  virtual void on_session_stream(std::int64_t stream_id, bool bidi, std::uint64_t session_id) = 0;
  virtual void on_stream_data(std::int64_t stream_id, std::span<const std::uint8_t> data,
                              bool fin) = 0;
  // RESET_STREAM / STOP_SENDING / close of a CONNECT or session stream.
  virtual void on_stream_reset(std::int64_t stream_id, std::uint64_t h3_code) = 0;
  virtual void on_stop_sending(std::int64_t stream_id, std::uint64_t h3_code) = 0;
  virtual void on_stream_closed(std::int64_t stream_id) = 0;
  virtual void on_send_progress(std::int64_t stream_id) = 0;
  virtual void on_datagram(std::span<const std::uint8_t> data) = 0;
  // The server is shutting down (GOAWAY sent): close sessions.
  virtual void on_shutdown() = 0;
  // The connection is gone.
  virtual void on_closed(std::string_view reason) = 0;
  // True while a session is live (keeps the connection open).
  virtual bool busy() const = 0;
};

struct ServerConnectionOptions {
  const http::Router* router = nullptr;
  Settings settings;  // what we send in SETTINGS
  std::uint64_t max_request_body = 256ull << 20;
  std::size_t max_field_section = 64 << 10;
  std::size_t stream_send_buffer = 256 << 10;
  std::chrono::milliseconds send_stall_timeout{60000};
  std::string server_header;                           // `Server` on every response when set
  std::function<void(http::Headers&)> common_headers;  // extra headers on every response
  // Called after every response: method, status, seconds from request complete to response sent.
  std::function<void(std::string_view, unsigned, double)> observe;
};

class ServerConnection : public quic::Application,
                         public std::enable_shared_from_this<ServerConnection> {
 public:
  ServerConnection(std::shared_ptr<quic::Connection> conn, ServerConnectionOptions options);
  ~ServerConnection() override;

  void set_extension(std::shared_ptr<Extension> extension) { extension_ = std::move(extension); }

  // --- for the extension ---------------------------------------------------------------------
  // Response HEADERS on a CONNECT stream (`fin` ends our side).
  void respond(std::int64_t stream_id, unsigned status, const HeaderList& extra, bool fin);
  // DATA frame on a CONNECT stream (capsules).
  void send_data(std::int64_t stream_id, std::string_view payload, bool fin);
  // Raw bytes on a session stream (after its header).
  void send_raw(std::int64_t stream_id, std::string bytes, bool fin);
  // Opens a server-initiated session stream and writes its header (bidi 0x41 / uni 0x54 + id).
  std::optional<std::int64_t> open_session_stream(bool bidi, std::uint64_t signal,
                                                  std::uint64_t session_id);
  void consume(std::int64_t stream_id, std::size_t n) { conn_->consume(stream_id, n); }
  void reset_stream(std::int64_t stream_id, std::uint64_t h3_code);
  void stop_sending(std::int64_t stream_id, std::uint64_t h3_code);
  const Settings& peer_settings() const { return peer_settings_; }
  quic::Connection& quic() { return *conn_; }
  std::string remote_string() const { return conn_->remote_string(); }
  bool closed() const { return closed_; }
  // Closes the QUIC connection (H3_NO_ERROR) once no request is active and the extension is
  // idle; checked now and whenever a request ends.
  void close_when_idle();
  // Connection error (RFC 9114 §8): CONNECTION_CLOSE with `h3_code`.
  void fail(std::uint64_t h3_code, std::string reason);

  // --- quic::Application ---------------------------------------------------------------------
  void on_ready() override;
  void on_stream_data(std::int64_t stream_id, std::span<const std::uint8_t> data,
                      bool fin) override;
  void on_stream_reset(std::int64_t stream_id, std::uint64_t code) override;
  void on_stop_sending(std::int64_t stream_id, std::uint64_t code) override;
  void on_stream_closed(std::int64_t stream_id) override;
  void on_send_progress(std::int64_t stream_id) override;
  void on_datagram(std::span<const std::uint8_t> data) override;
  void on_shutdown() override;
  void on_closed(std::string_view reason) override;

 private:
  struct RequestState;
  enum class Kind {
    kUnknown,       // first varint not complete yet
    kRequest,       // HTTP/3 request stream (bidi)
    kConnect,       // request stream handed to the extension
    kSession,       // WebTransport stream (after its header)
    kControl,       // peer control stream
    kQpackEncoder,  // peer QPACK encoder stream
    kQpackDecoder,  // peer QPACK decoder stream
    kIgnored,       // refused or finished: bytes are credited and dropped
  };
  struct Stream {
    Kind kind = Kind::kUnknown;
    std::string head;  // bytes before the kind is known (≤ 16)
    std::unique_ptr<FrameReader> reader;
    std::shared_ptr<RequestState> request;
    bool headers_seen = false;
    bool settings_seen = false;  // control stream
  };

  void handle_bidi(std::int64_t sid, Stream& s, std::span<const std::uint8_t> data, bool fin);
  void handle_uni(std::int64_t sid, Stream& s, std::span<const std::uint8_t> data, bool fin);
  // A peer stream that began with a WebTransport signal/type of `signal_length` bytes; `combined`
  // is what the stream sent so far, the last `new_bytes` of it not yet credited.
  void take_session_stream(std::int64_t sid, Stream& s, bool bidi, std::string combined,
                           std::size_t new_bytes, std::size_t signal_length, bool fin);
  // The peer's control or QPACK stream (by stream type); false when refused or a duplicate.
  bool open_critical_stream(std::int64_t sid, Stream& s, std::uint64_t type);
  // Bytes of the peer's control or QPACK encoder/decoder stream (already credited).
  void feed_critical_stream(Stream& s, std::span<const std::uint8_t> data);
  void handle_request_bytes(std::int64_t sid, Stream& s, std::span<const std::uint8_t> data,
                            bool fin);
  void handle_control_frame(std::uint64_t type, std::string_view payload, Stream& s);
  bool on_request_headers(std::int64_t sid, Stream& s, std::string_view block);
  void start_request(std::int64_t sid, Stream& s);
  void answer_error(std::int64_t sid, Stream& s, unsigned status, std::string_view message);
  void send_headers(std::int64_t sid, const HeaderList& fields, bool fin);
  void dispatch_pending_connects();
  awaitable<void> serve(std::int64_t sid, std::shared_ptr<RequestState> state);
  awaitable<bool> write_body(std::int64_t sid, const http::Body& body, bool& fin_sent);
  // Waits until the stream's send buffer is below the bound; false when the response should stop.
  awaitable<bool> send_flow(std::int64_t sid);
  void request_finished();
  void abandon_undispatched(RequestState& state);

  std::shared_ptr<quic::Connection> conn_;
  ServerConnectionOptions options_;
  std::shared_ptr<Extension> extension_;
  QpackEncoder encoder_;
  QpackDecoder decoder_;
  Settings peer_settings_;
  bool peer_settings_received_ = false;
  std::map<std::int64_t, Stream> streams_;
  std::vector<std::pair<std::int64_t, RequestHead>> pending_connects_;  // waiting for SETTINGS
  std::optional<std::int64_t> control_stream_;
  bool have_peer_control_ = false, have_peer_encoder_ = false, have_peer_decoder_ = false;
  std::int64_t max_client_bidi_seen_ = -4;
  std::size_t active_requests_ = 0;
  bool shutting_down_ = false;
  bool close_when_idle_ = false;
  bool closed_ = false;
  quic::Notifier progress_;
};

}  // namespace wasimoff::h3
