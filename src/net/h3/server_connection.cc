#include "net/h3/server_connection.h"

#include <algorithm>

#include "common/logging.h"
#include "net/h3/error_codes.h"
#include "net/h3/server_connection_internal.h"
#include "net/h3/varint.h"

namespace wasimoff::h3 {
namespace {

bool is_bidi(std::int64_t sid) {
  return (sid & 0x2) == 0;
}

}  // namespace

ServerConnection::ServerConnection(std::shared_ptr<quic::Connection> conn,
                                   ServerConnectionOptions options)
    : conn_(std::move(conn)),
      options_(std::move(options)),
      decoder_(options_.max_field_section),
      progress_(conn_->executor()) {}

ServerConnection::~ServerConnection() = default;

// ---------------------------------------------------------------------------------------------
// Sending helpers

void ServerConnection::send_headers(std::int64_t sid, const HeaderList& fields, bool fin) {
  conn_->send(sid, encode_frame(frame::kHeaders, encoder_.encode(sid, fields)), fin);
}

void ServerConnection::respond(std::int64_t sid, unsigned status, const HeaderList& extra,
                               bool fin) {
  if (closed_) return;
  http::Response r;
  r.status = status;
  if (!options_.server_header.empty()) r.headers.set("Server", options_.server_header);
  for (const auto& f : extra) r.headers.add(f.name, f.value);
  send_headers(sid, response_fields(r, std::nullopt), fin);
}

void ServerConnection::send_data(std::int64_t sid, std::string_view payload, bool fin) {
  if (closed_) return;
  std::string out;
  if (!payload.empty()) out = encode_frame(frame::kData, payload);
  conn_->send(sid, std::move(out), fin);
}

void ServerConnection::send_raw(std::int64_t sid, std::string bytes, bool fin) {
  if (closed_) return;
  conn_->send(sid, std::move(bytes), fin);
}

std::optional<std::int64_t> ServerConnection::open_session_stream(bool bidi, std::uint64_t signal,
                                                                  std::uint64_t session_id) {
  if (closed_) return std::nullopt;
  auto sid = bidi ? conn_->open_bidi_stream() : conn_->open_uni_stream();
  if (!sid) return std::nullopt;
  streams_[*sid].kind = Kind::kSession;
  std::string header;
  append_varint(header, signal);
  append_varint(header, session_id);
  conn_->send(*sid, std::move(header));
  return sid;
}

void ServerConnection::reset_stream(std::int64_t sid, std::uint64_t code) {
  if (!closed_) conn_->reset_stream(sid, code);
}

void ServerConnection::stop_sending(std::int64_t sid, std::uint64_t code) {
  if (!closed_) conn_->stop_sending(sid, code);
}

void ServerConnection::fail(std::uint64_t code, std::string reason) {
  if (closed_) return;
  spdlog::debug("[h3] {}: connection error 0x{:x}: {}", conn_->remote_string(), code, reason);
  conn_->close(code, reason);
}

void ServerConnection::close_when_idle() {
  close_when_idle_ = true;
  if (!closed_ && active_requests_ == 0 && (!extension_ || !extension_->busy()))
    conn_->close(error::kNoError, "");
}

void ServerConnection::abandon_undispatched(RequestState& state) {
  if (state.dispatched || state.finished) return;
  state.finished = true;
  --active_requests_;
  request_finished();
}

void ServerConnection::request_finished() {
  if (close_when_idle_) close_when_idle();
}

// ---------------------------------------------------------------------------------------------
// quic::Application

void ServerConnection::on_ready() {
  // Control stream with our SETTINGS, then the two QPACK streams (RFC 9114 §6.2.1, RFC 9204 §4.2).
  control_stream_ = conn_->open_uni_stream();
  auto enc = conn_->open_uni_stream();
  auto dec = conn_->open_uni_stream();
  if (!control_stream_ || !enc || !dec) {
    fail(error::kStreamCreationError, "peer allows too few unidirectional streams");
    return;
  }
  std::string control;
  append_varint(control, stream_type::kControl);
  control += encode_frame(frame::kSettings, encode_settings_payload(options_.settings));
  conn_->send(*control_stream_, std::move(control));
  std::string e, d;
  append_varint(e, stream_type::kQpackEncoder);
  append_varint(d, stream_type::kQpackDecoder);
  conn_->send(*enc, std::move(e));
  conn_->send(*dec, std::move(d));
}
void ServerConnection::on_stream_data(std::int64_t sid, std::span<const std::uint8_t> data,
                                      bool fin) {
  if (closed_) return;
  auto& s = streams_[sid];
  if (s.kind == Kind::kSession) {
    if (extension_) extension_->on_stream_data(sid, data, fin);
    return;
  }
  if (s.kind == Kind::kUnknown) {
    if (is_bidi(sid))
      handle_bidi(sid, s, data, fin);
    else
      handle_uni(sid, s, data, fin);
    return;
  }
  conn_->consume(sid, data.size());
  switch (s.kind) {
    case Kind::kRequest:
    case Kind::kConnect:
      handle_request_bytes(sid, s, data, fin);
      break;
    case Kind::kControl:
      feed_critical_stream(s, data);
      if (fin) fail(error::kClosedCriticalStream, "peer closed its control stream");
      break;
    case Kind::kQpackEncoder:
      feed_critical_stream(s, data);
      if (fin) fail(error::kClosedCriticalStream, "peer closed its QPACK encoder stream");
      break;
    case Kind::kQpackDecoder:
      feed_critical_stream(s, data);
      if (fin) fail(error::kClosedCriticalStream, "peer closed its QPACK decoder stream");
      break;
    default:
      break;  // ignored streams: credited and dropped
  }
}

void ServerConnection::on_stream_reset(std::int64_t sid, std::uint64_t code) {
  auto it = streams_.find(sid);
  if (it == streams_.end()) return;
  auto& s = it->second;
  if (s.kind == Kind::kConnect || s.kind == Kind::kSession) {
    if (extension_) extension_->on_stream_reset(sid, code);
    return;
  }
  if (s.kind == Kind::kControl || s.kind == Kind::kQpackEncoder || s.kind == Kind::kQpackDecoder)
    return fail(error::kClosedCriticalStream, "peer reset a critical stream");
  if (s.request) {
    // A response that is complete (e.g. our early 413, after which the client resets its
    // upload) is left to finish; one still being produced is cancelled.
    const bool responding = !s.request->finished;
    s.request->gone = true;
    s.request->ctx.peer_gone().set();
    abandon_undispatched(*s.request);
    s.kind = Kind::kIgnored;
    if (responding) reset_stream(sid, error::kRequestCancelled);
    progress_.notify();
  }
}

void ServerConnection::on_stop_sending(std::int64_t sid, std::uint64_t code) {
  auto it = streams_.find(sid);
  if (it == streams_.end()) return;
  auto& s = it->second;
  if (s.kind == Kind::kConnect || s.kind == Kind::kSession) {
    if (extension_) extension_->on_stop_sending(sid, code);
    return;
  }
  if (sid == control_stream_)
    return fail(error::kClosedCriticalStream, "peer stopped our control stream");
  if (s.request) {
    s.request->gone = true;
    s.request->ctx.peer_gone().set();
    abandon_undispatched(*s.request);
    progress_.notify();
  }
}

void ServerConnection::on_stream_closed(std::int64_t sid) {
  auto it = streams_.find(sid);
  if (it == streams_.end()) return;
  const Kind kind = it->second.kind;
  auto request = it->second.request;
  streams_.erase(it);
  if (kind == Kind::kConnect || kind == Kind::kSession) {
    if (extension_) extension_->on_stream_closed(sid);
  }
  if (request && !request->finished) {
    // Closed before the response was complete (e.g. reset in both directions).
    request->gone = true;
    request->ctx.peer_gone().set();
    abandon_undispatched(*request);
  }
  progress_.notify();
}

void ServerConnection::on_send_progress(std::int64_t sid) {
  progress_.notify();
  auto it = streams_.find(sid);
  if (it != streams_.end() &&
      (it->second.kind == Kind::kConnect || it->second.kind == Kind::kSession) && extension_)
    extension_->on_send_progress(sid);
}

void ServerConnection::on_datagram(std::span<const std::uint8_t> data) {
  if (extension_) extension_->on_datagram(data);
}

void ServerConnection::on_shutdown() {
  if (closed_ || shutting_down_) return;
  shutting_down_ = true;
  if (control_stream_)
    conn_->send(*control_stream_,
                encode_goaway(static_cast<std::uint64_t>(max_client_bidi_seen_ + 4)));
  if (extension_) extension_->on_shutdown();
  close_when_idle();
}

void ServerConnection::on_closed(std::string_view reason) {
  if (closed_) return;
  closed_ = true;
  for (auto& [sid, s] : streams_) {
    (void)sid;
    if (s.request) {
      s.request->gone = true;
      s.request->ctx.peer_gone().set();
    }
  }
  streams_.clear();
  pending_connects_.clear();
  progress_.notify();
  if (extension_) extension_->on_closed(reason);
}

}  // namespace wasimoff::h3
