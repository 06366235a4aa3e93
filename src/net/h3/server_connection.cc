#include "net/h3/server_connection.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "common/logging.h"
#include "net/h3/error_codes.h"
#include "net/h3/varint.h"

namespace wasimoff::h3 {
namespace {

constexpr std::size_t kMaxControlFrame = 16 << 10;
constexpr std::size_t kBodyChunk = 64 << 10;

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

bool is_bidi(std::int64_t sid) {
  return (sid & 0x2) == 0;
}

}  // namespace

struct ServerConnection::RequestState {
  explicit RequestState(asio::any_io_executor ex) : ctx(std::move(ex)) {}
  http::Request request;
  http::RequestContext ctx;
  std::optional<std::uint64_t> content_length;
  bool gone = false;        // the peer no longer wants the response (reset, STOP_SENDING, closed)
  bool finished = false;    // counted out of active_requests_
  bool dispatched = false;  // serve() runs and will count it out
  std::chrono::steady_clock::time_point received;
};

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
    case Kind::kControl: {
      auto res =
          s.reader->feed(data, {[&](std::uint64_t type, std::string_view payload) {
                                  handle_control_frame(type, payload, s);
                                  return !closed_;
                                },
                                [&](std::span<const std::uint8_t>) {
                                  fail(error::kFrameUnexpected, "DATA on the control stream");
                                  return false;
                                }});
      if (res == FrameReader::Result::kFrameTooLarge)
        fail(error::kExcessiveLoad, "control frame too large");
      if (fin) fail(error::kClosedCriticalStream, "peer closed its control stream");
      break;
    }
    case Kind::kQpackEncoder:
      if (!decoder_.read_encoder_stream(data))
        fail(error::kQpackEncoderStreamError, "bad QPACK encoder stream");
      if (fin) fail(error::kClosedCriticalStream, "peer closed its QPACK encoder stream");
      break;
    case Kind::kQpackDecoder:
      if (!encoder_.read_decoder_stream(data))
        fail(error::kQpackDecoderStreamError, "bad QPACK decoder stream");
      if (fin) fail(error::kClosedCriticalStream, "peer closed its QPACK decoder stream");
      break;
    default:
      break;  // ignored streams: credited and dropped
  }
}

void ServerConnection::handle_bidi(std::int64_t sid, Stream& s, std::span<const std::uint8_t> data,
                                   bool fin) {
  if (!conn_->is_remote_stream(sid)) return;
  const std::size_t prior = s.head.size();  // already credited
  std::string combined = s.head;
  combined.append(reinterpret_cast<const char*>(data.data()), data.size());
  auto bytes = as_bytes(combined);
  auto first = decode_varint(bytes);
  if (first && first->value == 0x41) {  // WebTransport bidi stream signal
    auto session = decode_varint(bytes.subspan(first->length));
    if (!session) {
      if (fin) s.kind = Kind::kIgnored;
      s.head = combined;
      conn_->consume(sid, data.size());
      return;
    }
    const std::size_t header = first->length + session->length;
    conn_->consume(sid, header - prior);
    s.head.clear();
    if (!extension_) {
      s.kind = Kind::kIgnored;
      conn_->consume(sid, combined.size() - header);
      stop_sending(sid, error::kStreamCreationError);
      reset_stream(sid, error::kStreamCreationError);
      return;
    }
    s.kind = Kind::kSession;
    extension_->on_session_stream(sid, true, session->value);
    if (s.kind == Kind::kSession && (combined.size() > header || fin))
      extension_->on_stream_data(sid, bytes.subspan(header), fin);
    return;
  }
  conn_->consume(sid, data.size());
  if (!first) {
    s.head = combined;
    if (fin) s.kind = Kind::kIgnored;
    return;
  }
  s.head.clear();
  max_client_bidi_seen_ = std::max(max_client_bidi_seen_, sid);
  if (shutting_down_) {
    s.kind = Kind::kIgnored;
    stop_sending(sid, error::kRequestRejected);
    reset_stream(sid, error::kRequestRejected);
    return;
  }
  s.kind = Kind::kRequest;
  s.reader = std::make_unique<FrameReader>(options_.max_field_section);
  handle_request_bytes(sid, s, bytes, fin);
}

void ServerConnection::handle_uni(std::int64_t sid, Stream& s, std::span<const std::uint8_t> data,
                                  bool fin) {
  const std::size_t prior = s.head.size();
  std::string combined = s.head;
  combined.append(reinterpret_cast<const char*>(data.data()), data.size());
  auto bytes = as_bytes(combined);
  auto type = decode_varint(bytes);
  if (type && type->value == 0x54) {  // WebTransport uni stream
    auto session = decode_varint(bytes.subspan(type->length));
    if (!session) {
      s.head = combined;
      conn_->consume(sid, data.size());
      if (fin) s.kind = Kind::kIgnored;
      return;
    }
    const std::size_t header = type->length + session->length;
    conn_->consume(sid, header - prior);
    s.head.clear();
    if (!extension_) {
      s.kind = Kind::kIgnored;
      conn_->consume(sid, combined.size() - header);
      stop_sending(sid, error::kStreamCreationError);
      return;
    }
    s.kind = Kind::kSession;
    extension_->on_session_stream(sid, false, session->value);
    if (s.kind == Kind::kSession && (combined.size() > header || fin))
      extension_->on_stream_data(sid, bytes.subspan(header), fin);
    return;
  }
  conn_->consume(sid, data.size());
  if (!type) {
    s.head = combined;
    if (fin) s.kind = Kind::kIgnored;
    return;
  }
  s.head.clear();
  auto rest = bytes.subspan(type->length);
  switch (type->value) {
    case stream_type::kControl:
      if (have_peer_control_) return fail(error::kStreamCreationError, "second control stream");
      have_peer_control_ = true;
      s.kind = Kind::kControl;
      s.reader = std::make_unique<FrameReader>(kMaxControlFrame);
      break;
    case stream_type::kQpackEncoder:
      if (have_peer_encoder_)
        return fail(error::kStreamCreationError, "second QPACK encoder stream");
      have_peer_encoder_ = true;
      s.kind = Kind::kQpackEncoder;
      break;
    case stream_type::kQpackDecoder:
      if (have_peer_decoder_)
        return fail(error::kStreamCreationError, "second QPACK decoder stream");
      have_peer_decoder_ = true;
      s.kind = Kind::kQpackDecoder;
      break;
    default:
      // Push streams from a client, GREASE and unknown types (RFC 9114 §6.2).
      s.kind = Kind::kIgnored;
      stop_sending(sid, error::kStreamCreationError);
      return;
  }
  // The bytes after the stream type (already credited above).
  switch (s.kind) {
    case Kind::kControl: {
      auto res =
          s.reader->feed(rest, {[&](std::uint64_t t, std::string_view p) {
                                  handle_control_frame(t, p, s);
                                  return !closed_;
                                },
                                [&](std::span<const std::uint8_t>) {
                                  fail(error::kFrameUnexpected, "DATA on the control stream");
                                  return false;
                                }});
      if (res == FrameReader::Result::kFrameTooLarge)
        fail(error::kExcessiveLoad, "control frame too large");
      break;
    }
    case Kind::kQpackEncoder:
      if (!decoder_.read_encoder_stream(rest))
        fail(error::kQpackEncoderStreamError, "bad QPACK encoder stream");
      break;
    case Kind::kQpackDecoder:
      if (!encoder_.read_decoder_stream(rest))
        fail(error::kQpackDecoderStreamError, "bad QPACK decoder stream");
      break;
    default:
      break;
  }
  if (fin) fail(error::kClosedCriticalStream, "peer closed a critical stream");
}

void ServerConnection::handle_control_frame(std::uint64_t type, std::string_view payload,
                                            Stream& s) {
  if (!s.settings_seen) {
    if (type != frame::kSettings)
      return fail(error::kMissingSettings, "first control frame is not SETTINGS");
    s.settings_seen = true;
    std::string err;
    auto settings = decode_settings_payload(payload, &err);
    if (!settings) return fail(error::kSettingsError, err);
    peer_settings_ = std::move(*settings);
    peer_settings_received_ = true;
    dispatch_pending_connects();
    return;
  }
  switch (type) {
    case frame::kSettings:
      return fail(error::kFrameUnexpected, "second SETTINGS frame");
    case frame::kHeaders:
    case frame::kPushPromise:
      return fail(error::kFrameUnexpected, "request frame on the control stream");
    case frame::kGoaway:
    case frame::kMaxPushId:
    case frame::kCancelPush:
      return;  // we never push; a client's GOAWAY needs no action from a server
    default:
      if (frame::is_http2_only(type)) return fail(error::kFrameUnexpected, "HTTP/2 frame type");
  }
}

void ServerConnection::dispatch_pending_connects() {
  auto pending = std::move(pending_connects_);
  pending_connects_.clear();
  for (auto& [sid, head] : pending) {
    if (closed_) return;
    if (streams_.count(sid) && extension_) extension_->on_connect(sid, std::move(head));
  }
}

void ServerConnection::handle_request_bytes(std::int64_t sid, Stream& s,
                                            std::span<const std::uint8_t> data, bool fin) {
  FrameReader::Callbacks cb{
      [&](std::uint64_t type, std::string_view payload) {
        if (type == frame::kHeaders) {
          if (!s.headers_seen) return on_request_headers(sid, s, payload);
          return true;  // trailers: ignored
        }
        if (type == frame::kPushPromise || type == frame::kSettings || type == frame::kGoaway ||
            type == frame::kMaxPushId || type == frame::kCancelPush || frame::is_http2_only(type)) {
          fail(error::kFrameUnexpected, "unexpected frame on a request stream");
          return false;
        }
        return true;
      },
      [&](std::span<const std::uint8_t> chunk) {
        if (!s.headers_seen) {
          fail(error::kFrameUnexpected, "DATA before HEADERS");
          return false;
        }
        if (s.kind == Kind::kConnect) {
          if (extension_) extension_->on_connect_data(sid, chunk, false);
          return s.kind == Kind::kConnect;
        }
        if (s.kind != Kind::kRequest || !s.request) return false;
        auto& body = s.request->request.body;
        if (body.size() + chunk.size() > options_.max_request_body) {
          answer_error(sid, s, 413, "request body too large");
          return false;
        }
        body.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
        return true;
      }};
  if (!s.reader) return;
  const auto res = s.reader->feed(data, cb);
  if (closed_) return;
  if (res == FrameReader::Result::kFrameTooLarge) {
    if (!s.headers_seen) {
      answer_error(sid, s, 431, "request header fields too large");
    } else {
      stop_sending(sid, error::kExcessiveLoad);
      reset_stream(sid, error::kExcessiveLoad);
      s.kind = Kind::kIgnored;
    }
    return;
  }
  if (res == FrameReader::Result::kStopped || !fin) return;
  if (!s.reader->at_frame_boundary())
    return fail(error::kFrameError, "truncated frame at end of stream");
  if (s.kind == Kind::kConnect) {
    if (extension_) extension_->on_connect_data(sid, {}, true);
    return;
  }
  if (s.kind != Kind::kRequest) return;
  if (!s.headers_seen) {
    stop_sending(sid, error::kRequestIncomplete);
    reset_stream(sid, error::kRequestIncomplete);
    s.kind = Kind::kIgnored;
    return;
  }
  start_request(sid, s);
}

bool ServerConnection::on_request_headers(std::int64_t sid, Stream& s, std::string_view block) {
  s.headers_seen = true;
  std::string err;
  auto fields = decoder_.decode(sid, block, &err);
  if (!fields) {
    if (err == "header section too large") {
      answer_error(sid, s, 431, "request header fields too large");
    } else {
      fail(error::kQpackDecompressionFailed, err);
    }
    return false;
  }
  auto head = parse_request_head(*fields, &err);
  if (!head) {
    answer_error(sid, s, 400, "malformed request: " + err);
    return false;
  }
  if (!head->protocol.empty()) {
    if (!extension_) {
      answer_error(sid, s, 501, "unsupported :protocol " + head->protocol);
      return false;
    }
    s.kind = Kind::kConnect;
    head->request.remote = conn_->remote_string();
    if (peer_settings_received_) {
      extension_->on_connect(sid, std::move(*head));
    } else {
      pending_connects_.emplace_back(sid, std::move(*head));
    }
    return true;
  }
  if (head->request.method == "CONNECT") {
    answer_error(sid, s, 501, "CONNECT is not supported");
    return false;
  }
  auto state = std::make_shared<RequestState>(conn_->executor());
  state->request = std::move(head->request);
  state->request.remote = conn_->remote_string();
  state->content_length = head->content_length;
  ++active_requests_;
  s.request = state;
  if (state->content_length && *state->content_length > options_.max_request_body) {
    answer_error(sid, s, 413, "request body too large");
    return false;
  }
  return true;
}

void ServerConnection::answer_error(std::int64_t sid, Stream& s, unsigned status,
                                    std::string_view message) {
  auto r = http::Response::text(status, message);
  if (!options_.server_header.empty()) r.headers.set("Server", options_.server_header);
  if (options_.common_headers) options_.common_headers(r.headers);
  const auto& body = std::get<std::string>(r.body);
  send_headers(sid, response_fields(r, body.size()), false);
  send_data(sid, body, true);
  stop_sending(sid, error::kNoError);
  s.kind = Kind::kIgnored;
  if (s.request && !s.request->finished) {
    s.request->finished = true;
    --active_requests_;
  }
  if (options_.observe) options_.observe(s.request ? s.request->request.method : "", status, 0.0);
}

void ServerConnection::start_request(std::int64_t sid, Stream& s) {
  auto state = s.request;
  if (!state) return;
  if (state->content_length && *state->content_length != state->request.body.size()) {
    answer_error(sid, s, 400, "content-length does not match the body");
    return;
  }
  state->received = std::chrono::steady_clock::now();
  state->dispatched = true;
  s.kind = Kind::kIgnored;  // nothing more to read on this stream
  spawn_logged(conn_->executor(), serve(sid, state), "HTTP/3 request");
}

awaitable<void> ServerConnection::serve(std::int64_t sid, std::shared_ptr<RequestState> state) {
  auto self = shared_from_this();
  http::Response resp = co_await options_.router->dispatch(state->request, state->ctx);
  if (!closed_ && !state->gone) {
    if (!options_.server_header.empty()) resp.headers.set("Server", options_.server_header);
    if (options_.common_headers) options_.common_headers(resp.headers);
    const bool head = state->request.method == "HEAD";
    const std::uint64_t size = resp.body_size();
    const bool body = !head && size > 0 && resp.status != 204 && resp.status != 304;
    send_headers(sid, response_fields(resp, size), !body);
    bool fin_sent = !body;
    if (body) co_await write_body(sid, resp.body, fin_sent);
    if (!fin_sent && !closed_ && !state->gone) reset_stream(sid, error::kInternalError);
    if (options_.observe)
      options_.observe(
          state->request.method, resp.status,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - state->received)
              .count());
  }
  if (!state->finished) {
    state->finished = true;
    --active_requests_;
  }
  request_finished();
}

awaitable<bool> ServerConnection::send_flow(std::int64_t sid) {
  // Back-pressure: wait until the stream's unacknowledged bytes drop below the bound.
  auto last_progress = std::chrono::steady_clock::now();
  std::size_t last_buffered = conn_->buffered(sid);
  auto it = streams_.find(sid);
  auto state = it == streams_.end() ? nullptr : it->second.request;
  while (!closed_ && !(state && state->gone) &&
         conn_->buffered(sid) >= options_.stream_send_buffer) {
    co_await progress_.wait(std::chrono::seconds(1));
    const std::size_t now_buffered = conn_->buffered(sid);
    if (now_buffered < last_buffered) {
      last_progress = std::chrono::steady_clock::now();
      last_buffered = now_buffered;
    } else if (std::chrono::steady_clock::now() - last_progress > options_.send_stall_timeout) {
      reset_stream(sid, error::kRequestCancelled);
      co_return false;
    }
  }
  if (closed_ || (state && state->gone)) co_return false;
  co_return true;
}

awaitable<bool> ServerConnection::write_body(std::int64_t sid, const http::Body& body,
                                             bool& fin_sent) {
  auto send_span = [&](const char* data, std::size_t size) -> awaitable<bool> {
    for (std::size_t off = 0; off < size; off += kBodyChunk) {
      const std::size_t n = std::min(kBodyChunk, size - off);
      if (!co_await send_flow(sid)) co_return false;
      const bool last = off + n == size;
      conn_->send(sid, encode_frame(frame::kData, {data + off, n}), last);
      if (last) fin_sent = true;
    }
    co_return true;
  };
  if (auto* s = std::get_if<std::string>(&body)) co_return co_await send_span(s->data(), s->size());
  if (auto* b = std::get_if<http::SharedBytes>(&body)) {
    auto keep = b->data;
    co_return co_await send_span(keep->data() + b->offset, b->length);
  }
  const auto& f = std::get<http::FileRange>(body);
  const int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) co_return false;
  std::string chunk(kBodyChunk, '\0');
  std::uint64_t off = f.offset, left = f.length;
  bool ok = true;
  while (left > 0) {
    const auto n = ::pread(fd, chunk.data(), std::min<std::uint64_t>(chunk.size(), left),
                           static_cast<off_t>(off));
    if (n <= 0) {  // the file shrank underneath us
      ok = false;
      break;
    }
    if (!co_await send_flow(sid)) {
      ok = false;
      break;
    }
    off += static_cast<std::uint64_t>(n);
    left -= static_cast<std::uint64_t>(n);
    conn_->send(sid, encode_frame(frame::kData, {chunk.data(), static_cast<std::size_t>(n)}),
                left == 0);
    if (left == 0) fin_sent = true;
  }
  ::close(fd);
  co_return ok;
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
