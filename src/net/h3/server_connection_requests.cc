// Request streams of an HTTP/3 server connection: HEADERS and DATA frames of a client request
// are read into an http::Request (limits: 431 for a too large field section, 413 for a too large
// body, 400 for a malformed request or a wrong content-length), the request is served by the
// shared Router on its own coroutine, and the response is written back as HEADERS + DATA with
// back-pressure (send_flow waits for ACKs; a stalled response is reset after
// send_stall_timeout). Extended CONNECT requests are handed to the Extension instead.
//
// Called from ServerConnection::on_stream_data (handle_request_bytes) once the stream was typed
// as a request stream. Invariant: every request counted in active_requests_ is counted out
// exactly once (RequestState::finished), by answer_error, serve or abandon_undispatched.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "common/logging.h"
#include "net/h3/error_codes.h"
#include "net/h3/server_connection.h"
#include "net/h3/server_connection_internal.h"

namespace wasimoff::h3 {
namespace {

constexpr std::size_t kBodyChunk = 64 << 10;

}  // namespace

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

}  // namespace wasimoff::h3
