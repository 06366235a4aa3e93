#include "net/h3/client_connection.h"

#include <stdexcept>

#include "net/h3/error_codes.h"
#include "net/h3/varint.h"

namespace wasimoff::h3 {
namespace {
std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
}  // namespace

ClientConnection::ClientConnection(asio::any_io_executor ex, Settings settings,
                                   std::size_t max_body)
    : ex_(ex), settings_(std::move(settings)), max_body_(max_body), notifier_(ex) {}

awaitable<std::shared_ptr<ClientConnection>> ClientConnection::connect(
    asio::any_io_executor ex, quic::ClientOptions options, Settings settings,
    std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto self = std::make_shared<ClientConnection>(ex, std::move(settings));
  const std::string where = options.host + ":" + std::to_string(options.port);
  self->quic_ = co_await quic::Client::connect(ex, std::move(options), self);
  while (!self->closed_ && !(self->ready_ && self->peer_settings_received_)) {
    if (std::chrono::steady_clock::now() >= deadline) {
      self->conn().abandon("connect timeout");
      throw std::runtime_error("QUIC connection to " + where + " timed out");
    }
    co_await self->wait(deadline);
  }
  if (self->closed_)
    throw std::runtime_error("QUIC connection to " + where + " failed: " + self->close_reason_);
  co_return self;
}

awaitable<void> ClientConnection::wait(std::chrono::steady_clock::time_point deadline) {
  const auto left = deadline - std::chrono::steady_clock::now();
  if (left <= std::chrono::steady_clock::duration::zero()) co_return;
  co_await notifier_.wait(left);
}

void ClientConnection::on_ready() {
  auto control = conn().open_uni_stream();
  auto enc = conn().open_uni_stream();
  auto dec = conn().open_uni_stream();
  if (!control || !enc || !dec) {
    conn().close(error::kStreamCreationError, "server allows too few unidirectional streams");
    return;
  }
  std::string c;
  append_varint(c, stream_type::kControl);
  c += encode_frame(frame::kSettings, encode_settings_payload(settings_));
  conn().send(*control, std::move(c));
  std::string e, d;
  append_varint(e, stream_type::kQpackEncoder);
  append_varint(d, stream_type::kQpackDecoder);
  conn().send(*enc, std::move(e));
  conn().send(*dec, std::move(d));
  ready_ = true;
  notifier_.notify();
}

awaitable<std::int64_t> ClientConnection::open_request_stream(
    std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    if (closed_) throw std::runtime_error("connection closed: " + close_reason_);
    if (auto sid = conn().open_bidi_stream()) co_return *sid;
    // The server's stream limit is reached: wait for streams to close (MAX_STREAMS follows).
    if (std::chrono::steady_clock::now() >= deadline)
      throw std::runtime_error("no stream credit before the timeout");
    co_await notifier_.wait(std::chrono::milliseconds(50));
  }
}

awaitable<Reply> ClientConnection::fetch(http::Request request, std::chrono::milliseconds timeout) {
  auto self = shared_from_this();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::int64_t sid = co_await open_request_stream(deadline);
  auto& s = streams_[sid];
  s.kind = Kind::kResponse;
  s.reader = std::make_unique<FrameReader>(64 << 10);
  std::string out = encode_frame(frame::kHeaders, encoder_.encode(sid, request_fields(request)));
  if (!request.body.empty()) out += encode_frame(frame::kData, request.body);
  conn().send(sid, std::move(out), true);
  for (;;) {
    auto it = streams_.find(sid);
    if (it == streams_.end()) throw std::runtime_error("request stream vanished");
    if (it->second.done) {
      Stream done = std::move(it->second);
      streams_.erase(it);
      if (!done.error.empty()) throw std::runtime_error(done.error);
      co_return std::move(done.reply);
    }
    if (closed_) throw std::runtime_error("connection closed: " + close_reason_);
    if (std::chrono::steady_clock::now() >= deadline) {
      reset_stream(sid, error::kRequestCancelled);
      stop_sending(sid, error::kRequestCancelled);
      streams_.erase(sid);
      throw std::runtime_error("HTTP/3 request timed out");
    }
    co_await wait(deadline);
  }
}

awaitable<std::pair<std::int64_t, unsigned>> ClientConnection::connect_extended(
    http::Request request, std::string protocol, std::chrono::milliseconds timeout) {
  auto self = shared_from_this();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  request.method = "CONNECT";
  const std::int64_t sid = co_await open_request_stream(deadline);
  auto& s = streams_[sid];
  s.kind = Kind::kConnect;
  s.reader = std::make_unique<FrameReader>(64 << 10);
  conn().send(
      sid, encode_frame(frame::kHeaders, encoder_.encode(sid, request_fields(request, protocol))));
  for (;;) {
    auto it = streams_.find(sid);
    if (it == streams_.end()) throw std::runtime_error("CONNECT stream vanished");
    if (!it->second.error.empty()) throw std::runtime_error(it->second.error);
    if (it->second.headers_done) co_return std::pair{sid, it->second.reply.status};
    if (closed_) throw std::runtime_error("connection closed: " + close_reason_);
    if (std::chrono::steady_clock::now() >= deadline) {
      reset_stream(sid, error::kRequestCancelled);
      throw std::runtime_error("no answer to CONNECT before the timeout");
    }
    co_await wait(deadline);
  }
}

std::optional<std::int64_t> ClientConnection::open_raw_bidi(std::string header) {
  if (closed_) return std::nullopt;
  auto sid = conn().open_bidi_stream();
  if (!sid) return std::nullopt;
  streams_[*sid].kind = Kind::kRaw;
  conn().send(*sid, std::move(header));
  return sid;
}

void ClientConnection::send_data(std::int64_t sid, std::string_view payload, bool fin) {
  conn().send(sid, payload.empty() ? std::string() : encode_frame(frame::kData, payload), fin);
}

void ClientConnection::close() {
  if (!closed_) conn().close(error::kNoError, "");
}

void ClientConnection::on_stream_data(std::int64_t sid, std::span<const std::uint8_t> data,
                                      bool fin) {
  if (closed_) return;
  const bool uni = (sid & 0x2) != 0;
  auto [it, inserted] = streams_.try_emplace(sid);
  auto& s = it->second;
  if (inserted) s.kind = uni ? Kind::kUniUnknown : Kind::kIgnored;  // server-initiated
  if (s.kind == Kind::kRaw) {
    if (hooks_.raw_data)
      hooks_.raw_data(sid, data, fin);
    else
      conn().consume(sid, data.size());
    return;
  }
  conn().consume(sid, data.size());
  std::string buffered;
  if (s.kind == Kind::kUniUnknown) {
    buffered = s.head;
    buffered.append(reinterpret_cast<const char*>(data.data()), data.size());
    auto type = decode_varint(as_bytes(buffered));
    if (!type) {
      s.head = buffered;
      return;
    }
    s.head.clear();
    data = as_bytes(buffered).subspan(type->length);
    switch (type->value) {
      case stream_type::kControl:
        s.kind = Kind::kControl;
        s.reader = std::make_unique<FrameReader>(16 << 10);
        break;
      case stream_type::kQpackEncoder:
        s.kind = Kind::kQpackEncoder;
        break;
      case stream_type::kQpackDecoder:
        s.kind = Kind::kQpackDecoder;
        break;
      default:
        s.kind = Kind::kIgnored;
        stop_sending(sid, error::kStreamCreationError);
        return;
    }
  }
  switch (s.kind) {
    case Kind::kControl:
      s.reader->feed(data, {[&](std::uint64_t type, std::string_view payload) {
                              if (type == frame::kSettings && !peer_settings_received_) {
                                std::string err;
                                if (auto st = decode_settings_payload(payload, &err))
                                  peer_settings_ = *st;
                                peer_settings_received_ = true;
                                notifier_.notify();
                              }
                              return true;
                            },
                            [](std::span<const std::uint8_t>) { return true; }});
      break;
    case Kind::kQpackEncoder:
      decoder_.read_encoder_stream(data);
      break;
    case Kind::kQpackDecoder:
      encoder_.read_decoder_stream(data);
      break;
    case Kind::kResponse:
    case Kind::kConnect:
      handle_response_bytes(sid, s, data, fin);
      break;
    default:
      break;
  }
}

void ClientConnection::handle_response_bytes(std::int64_t sid, Stream& s,
                                             std::span<const std::uint8_t> data, bool fin) {
  FrameReader::Callbacks cb{[&](std::uint64_t type, std::string_view payload) {
                              if (type != frame::kHeaders || s.headers_done) return true;
                              std::string err;
                              auto fields = decoder_.decode(sid, payload, &err);
                              if (!fields) {
                                s.error = "bad response headers: " + err;
                                s.done = true;
                                return false;
                              }
                              auto status = parse_response_status(*fields, &s.reply.headers);
                              if (!status) {
                                s.error = "response without a valid :status";
                                s.done = true;
                                return false;
                              }
                              if (*status >= 200) {  // 1xx are interim
                                s.reply.status = *status;
                                s.headers_done = true;
                              }
                              return true;
                            },
                            [&](std::span<const std::uint8_t> chunk) {
                              if (s.kind == Kind::kConnect) {
                                if (hooks_.connect_data) hooks_.connect_data(sid, chunk, false);
                                return true;
                              }
                              if (s.reply.body.size() + chunk.size() > max_body_) {
                                s.error = "response body too large";
                                s.done = true;
                                return false;
                              }
                              s.reply.body.append(reinterpret_cast<const char*>(chunk.data()),
                                                  chunk.size());
                              return true;
                            }};
  if (s.reader->feed(data, cb) == FrameReader::Result::kFrameTooLarge) {
    s.error = "response frame too large";
    s.done = true;
  }
  if (fin) {
    if (s.kind == Kind::kConnect && hooks_.connect_data) hooks_.connect_data(sid, {}, true);
    if (!s.headers_done && s.error.empty()) s.error = "stream ended without a response";
    s.done = true;
  }
  notifier_.notify();
}

void ClientConnection::on_stream_reset(std::int64_t sid, std::uint64_t code) {
  auto it = streams_.find(sid);
  if (it == streams_.end()) return;
  if (it->second.kind == Kind::kRaw || it->second.kind == Kind::kConnect) {
    if (hooks_.reset) hooks_.reset(sid, code);
  }
  if (!it->second.done) {
    it->second.error = "stream reset by the server (code " + std::to_string(code) + ")";
    it->second.done = true;
  }
  notifier_.notify();
}

void ClientConnection::on_stop_sending(std::int64_t sid, std::uint64_t code) {
  auto it = streams_.find(sid);
  if (it == streams_.end()) return;
  if ((it->second.kind == Kind::kRaw || it->second.kind == Kind::kConnect) && hooks_.reset)
    hooks_.reset(sid, code);
  notifier_.notify();
}

void ClientConnection::on_stream_closed(std::int64_t sid) {
  auto it = streams_.find(sid);
  if (it != streams_.end()) {
    if (it->second.kind == Kind::kResponse) {
      if (!it->second.done) {
        it->second.done = true;
        if (it->second.error.empty())
          it->second.error = "stream closed without a complete response";
      }
    } else if (it->second.kind != Kind::kConnect) {
      streams_.erase(it);
    }
  }
  notifier_.notify();
}

void ClientConnection::on_send_progress(std::int64_t sid) {
  if (hooks_.progress) hooks_.progress(sid);
  notifier_.notify();
}

void ClientConnection::on_closed(std::string_view reason) {
  closed_ = true;
  close_reason_ = std::string(reason);
  for (auto& [sid, s] : streams_) {
    (void)sid;
    if (!s.done) {
      s.done = true;
      if (s.error.empty()) s.error = "connection closed: " + close_reason_;
    }
  }
  notifier_.notify();
  if (hooks_.closed) hooks_.closed(reason);
}

}  // namespace wasimoff::h3
