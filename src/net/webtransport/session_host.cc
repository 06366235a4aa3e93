#include "net/webtransport/session_host.h"

#include "common/logging.h"
#include "net/h3/error_codes.h"
#include "net/webtransport/draft.h"
#include "net/webtransport/error_code.h"

namespace wasimoff::webtransport {

SessionHost::SessionHost(std::weak_ptr<h3::ServerConnection> h3,
                         std::shared_ptr<const SessionPolicy> policy)
    : h3_(std::move(h3)), policy_(std::move(policy)) {}

void SessionHost::reject(std::int64_t sid, unsigned status, const std::string& message) {
  auto h3 = h3_.lock();
  if (!h3) return;
  if (message.empty()) {
    h3->respond(sid, status, {}, true);
  } else {
    h3->respond(sid, status, {{"content-type", "text/plain; charset=utf-8"}}, false);
    h3->send_data(sid, message + "\n", true);
  }
  h3->stop_sending(sid, h3::error::kNoError);
}

void SessionHost::on_connect(std::int64_t sid, h3::RequestHead head) {
  auto h3 = h3_.lock();
  if (!h3) return;
  const auto& req = head.request;
  if (req.path != policy_->session_path) return reject(sid, 404);
  if (head.protocol != draft::kConnectProtocol) return reject(sid, 501);
  if (draft::negotiate(h3->peer_settings()) == draft::Version::kNone) {
    spdlog::info("[webtransport] {}: CONNECT refused: peer SETTINGS lack WebTransport support",
                 h3->remote_string());
    return reject(sid, 400);
  }
  if (session_) return reject(sid, 429);  // one session per connection
  const ConnectVerdict verdict = policy_->authorize ? policy_->authorize(req) : ConnectVerdict();
  if (verdict.status < 200 || verdict.status > 299)
    return reject(sid, verdict.status, verdict.message);
  session_.emplace();
  session_->connect_stream = sid;
  session_->connect = req;
  h3->respond(sid, 200, draft::accept_fields(), false);
  spdlog::debug("[webtransport] {}: session {} accepted", h3->remote_string(), sid);
}

void SessionHost::on_connect_data(std::int64_t sid, std::span<const std::uint8_t> data, bool fin) {
  if (!session_ || session_->connect_stream != sid) return;
  auto& s = *session_;
  std::optional<CloseInfo> peer_close;
  bool drain = false;
  const auto res = s.capsules.feed(data, [&](Capsule c) {
    if (c.type == draft::kCapsuleCloseSession) {
      peer_close = parse_close_value(c.value);
      if (!peer_close) peer_close = CloseInfo{0, "(malformed CLOSE capsule)"};
    } else if (c.type == draft::kCapsuleDrainSession) {
      drain = true;
    }
  });
  if (res == CapsuleReader::Result::kTooLarge) {
    end_session("peer sent an oversized capsule",
                std::pair<std::uint32_t, std::string>{1002, "capsule too large"});
    return;
  }
  if (drain) spdlog::debug("[webtransport] {}: peer asked to drain the session", s.connect.remote);
  if (peer_close) {
    end_session("peer closed: " + std::to_string(peer_close->code) + " " + peer_close->reason,
                std::nullopt);
    return;
  }
  if (fin) end_session("peer ended the CONNECT stream", std::nullopt);
}

void SessionHost::refuse_stream(std::int64_t sid, bool bidi) {
  auto h3 = h3_.lock();
  if (!h3) return;
  h3->stop_sending(sid, to_h3_error(0));
  if (bidi) h3->reset_stream(sid, to_h3_error(0));
}

void SessionHost::on_session_stream(std::int64_t sid, bool bidi, std::uint64_t session_id) {
  auto h3 = h3_.lock();
  if (!h3) return;
  if (!session_ || session_->ended ||
      static_cast<std::int64_t>(session_id) != session_->connect_stream || !bidi ||
      session_->message_stream) {
    spdlog::debug("[webtransport] {}: refusing extra {} stream {}", h3->remote_string(),
                  bidi ? "bidi" : "uni", sid);
    return refuse_stream(sid, bidi);
  }
  auto& s = *session_;
  s.message_stream = sid;
  s.channel = std::make_shared<MessageChannel>(h3->quic().executor(), policy_->max_message_size,
                                               h3->remote_string());
  s.channel->attach(weak_from_this());
  if (policy_->on_session)
    policy_->on_session(std::make_unique<WebTransportTransport>(s.channel), s.connect);
}

void SessionHost::on_stream_data(std::int64_t sid, std::span<const std::uint8_t> data, bool fin) {
  if (session_ && session_->message_stream == sid && session_->channel) {
    session_->channel->on_bytes(data, fin);
    return;
  }
  if (auto h3 = h3_.lock()) h3->consume(sid, data.size());  // refused stream: drop
}

void SessionHost::on_stream_reset(std::int64_t sid, std::uint64_t code) {
  if (!session_) return;
  auto wt = from_h3_error(code);
  const std::string shown = wt ? std::to_string(*wt) : "h3 0x" + fmt::format("{:x}", code);
  if (session_->message_stream == sid) {
    end_session("peer reset the message stream (code " + shown + ")",
                std::pair<std::uint32_t, std::string>{1011, "message stream reset"});
  } else if (session_->connect_stream == sid) {
    end_session("peer reset the CONNECT stream (code " + shown + ")", std::nullopt);
  }
}

void SessionHost::on_stop_sending(std::int64_t sid, std::uint64_t code) {
  if (!session_) return;
  if (session_->message_stream == sid || session_->connect_stream == sid) {
    auto wt = from_h3_error(code);
    end_session("peer stopped reading stream " + std::to_string(sid) + " (code " +
                    (wt ? std::to_string(*wt) : fmt::format("h3 0x{:x}", code)) + ")",
                std::nullopt);
  }
}

void SessionHost::on_stream_closed(std::int64_t sid) {
  if (session_ && session_->connect_stream == sid && !session_->ended)
    end_session("CONNECT stream closed", std::nullopt);
}

void SessionHost::on_send_progress(std::int64_t sid) {
  if (session_ && session_->message_stream == sid && session_->channel)
    session_->channel->on_progress();
}

void SessionHost::on_datagram(std::span<const std::uint8_t>) {
  // Supported (advertised) but unused by wasimoff: dropped.
  if (dropped_datagrams_++ == 0) spdlog::debug("[webtransport] dropping received datagrams");
}

void SessionHost::on_shutdown() {
  if (busy())
    end_session("server shutting down",
                std::pair<std::uint32_t, std::string>{0, "server shutting down"});
}

void SessionHost::on_closed(std::string_view reason) {
  if (session_ && session_->channel)
    session_->channel->on_ended("connection lost: " + std::string(reason));
  if (session_) session_->ended = true;
}

void SessionHost::write_message_bytes(std::string bytes) {
  auto h3 = h3_.lock();
  if (!h3 || !session_ || !session_->message_stream || session_->ended) return;
  h3->send_raw(*session_->message_stream, std::move(bytes), false);
}

std::size_t SessionHost::message_bytes_buffered() const {
  auto h3 = h3_.lock();
  if (!h3 || !session_ || !session_->message_stream) return 0;
  return h3->quic().buffered(*session_->message_stream);
}

void SessionHost::credit_message_bytes(std::size_t n) {
  auto h3 = h3_.lock();
  if (h3 && session_ && session_->message_stream) h3->consume(*session_->message_stream, n);
}

void SessionHost::close_session(std::uint32_t code, std::string reason) {
  end_session("closed by us: " + std::to_string(code) + " " + reason,
              std::pair<std::uint32_t, std::string>{code, reason});
}

void SessionHost::end_session(std::string reason,
                              std::optional<std::pair<std::uint32_t, std::string>> close) {
  if (!session_ || session_->ended) return;
  auto& s = *session_;
  s.ended = true;
  auto h3 = h3_.lock();
  if (h3 && !h3->closed()) {
    if (close) {
      h3->send_data(s.connect_stream, encode_close_capsule(close->first, close->second), true);
    } else {
      h3->send_data(s.connect_stream, {}, true);
    }
    s.connect_fin_sent = true;
    if (s.message_stream) h3->send_raw(*s.message_stream, {}, true);
  }
  if (s.channel) s.channel->on_ended(reason);
  spdlog::debug("[webtransport] session {} ended: {}", s.connect_stream, reason);
  if (h3 && !h3->closed()) {
    closing_ = true;
    spawn_logged(h3->quic().executor(), close_connection_soon(h3), "webtransport close");
  }
}

awaitable<void> SessionHost::close_connection_soon(std::shared_ptr<h3::ServerConnection> h3) {
  // Let the CLOSE capsule and FINs be acknowledged (at most one second), then close the QUIC
  // connection ourselves: Chromium drops its side without CONNECTION_CLOSE.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(900);
  const auto connect = session_ ? session_->connect_stream : -1;
  const auto message = session_ && session_->message_stream ? *session_->message_stream : -1;
  while (!h3->closed() && std::chrono::steady_clock::now() < deadline) {
    const bool acked = (connect < 0 || h3->quic().buffered(connect) == 0) &&
                       (message < 0 || h3->quic().buffered(message) == 0);
    if (acked) break;
    co_await sleep_for(std::chrono::milliseconds(20));
  }
  closing_ = false;
  if (!h3->closed()) h3->close_when_idle();
}

}  // namespace wasimoff::webtransport
