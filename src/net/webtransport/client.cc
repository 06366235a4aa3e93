#include "net/webtransport/client.h"

#include <charconv>
#include <stdexcept>

#include "common/logging.h"
#include "net/h3/client_connection.h"
#include "net/h3/error_codes.h"
#include "net/h3/varint.h"
#include "net/http/redact.h"
#include "net/webtransport/capsule.h"
#include "net/webtransport/draft.h"
#include "net/webtransport/error_code.h"
#include "net/webtransport/message_channel.h"

namespace wasimoff::webtransport {

ParsedUrl parse_https_url(const std::string& url) {
  const std::string scheme = "https://";
  if (url.compare(0, scheme.size(), scheme) != 0)
    throw std::invalid_argument("WebTransport URL must start with https://: " +
                                http::redact_secrets(url));
  const std::string rest = url.substr(scheme.size());
  const auto slash = rest.find_first_of("/?");
  const std::string authority = rest.substr(0, slash);
  ParsedUrl out;
  out.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (out.target[0] == '?') out.target = "/" + out.target;
  out.authority = authority;
  std::string port;
  if (!authority.empty() && authority[0] == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos)
      throw std::invalid_argument("bad IPv6 literal in URL: " + http::redact_secrets(url));
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':')
        throw std::invalid_argument("bad authority in URL: " + http::redact_secrets(url));
      port = authority.substr(close + 2);
    }
  } else {
    const auto colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) throw std::invalid_argument("no host in URL: " + http::redact_secrets(url));
  if (!port.empty()) {
    unsigned p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || ptr != port.data() + port.size() || p == 0 || p > 65535)
      throw std::invalid_argument("bad port in URL: " + http::redact_secrets(url));
    out.port = static_cast<std::uint16_t>(p);
  }
  return out;
}

namespace {

// Client end of one session: owns the HTTP/3 connection and hosts the message stream.
class ClientSession : public MessageStreamHost, public std::enable_shared_from_this<ClientSession> {
 public:
  ClientSession(std::shared_ptr<h3::ClientConnection> h3, std::int64_t connect_sid,
                std::int64_t message_sid, std::uint64_t max_message_size)
      : h3_(std::move(h3)),
        connect_sid_(connect_sid),
        message_sid_(message_sid),
        channel_(std::make_shared<MessageChannel>(h3_->executor(), max_message_size,
                                                  h3_->remote_string())) {}

  void start() {
    channel_->attach(weak_from_this());
    h3::ClientConnection::Hooks hooks;
    std::weak_ptr<ClientSession> weak = weak_from_this();
    hooks.connect_data = [weak](std::int64_t sid, std::span<const std::uint8_t> d, bool fin) {
      if (auto self = weak.lock(); self && sid == self->connect_sid_) self->on_connect_data(d, fin);
    };
    hooks.raw_data = [weak](std::int64_t sid, std::span<const std::uint8_t> d, bool fin) {
      auto self = weak.lock();
      if (!self) return;
      if (sid == self->message_sid_) {
        self->channel_->on_bytes(d, fin);
      } else {
        self->h3_->consume(sid, d.size());
      }
    };
    hooks.reset = [weak](std::int64_t sid, std::uint64_t code) {
      auto self = weak.lock();
      if (!self || (sid != self->message_sid_ && sid != self->connect_sid_)) return;
      auto wt = from_h3_error(code);
      self->end("server reset stream " + std::to_string(sid) + " (code " +
                    (wt ? std::to_string(*wt) : fmt::format("h3 0x{:x}", code)) + ")",
                false);
    };
    hooks.progress = [weak](std::int64_t sid) {
      if (auto self = weak.lock(); self && sid == self->message_sid_) self->channel_->on_progress();
    };
    hooks.closed = [weak](std::string_view reason) {
      if (auto self = weak.lock()) {
        self->ended_ = true;
        self->channel_->on_ended("connection lost: " + std::string(reason));
      }
    };
    h3_->set_hooks(std::move(hooks));
  }

  std::shared_ptr<MessageChannel> channel() const { return channel_; }

  // MessageStreamHost
  void write_message_bytes(std::string bytes) override {
    if (!ended_) h3_->send_raw(message_sid_, std::move(bytes), false);
  }
  std::size_t message_bytes_buffered() const override { return h3_->buffered(message_sid_); }
  void credit_message_bytes(std::size_t n) override { h3_->consume(message_sid_, n); }
  void close_session(std::uint32_t code, std::string reason) override {
    if (ended_) return;
    ended_ = true;
    if (!h3_->closed()) {
      h3_->send_data(connect_sid_, encode_close_capsule(code, reason), true);
      h3_->send_raw(message_sid_, {}, true);
    }
    channel_->on_ended("closed: " + std::to_string(code) + " " + reason);
    close_soon();
  }

 private:
  void on_connect_data(std::span<const std::uint8_t> data, bool fin) {
    std::optional<CloseInfo> close;
    const auto res = capsules_.feed(data, [&](Capsule c) {
      if (c.type == draft::kCapsuleCloseSession) {
        close = parse_close_value(c.value);
        if (!close) close = CloseInfo{0, "(malformed CLOSE capsule)"};
      }
    });
    if (res == CapsuleReader::Result::kTooLarge)
      return end("server sent an oversized capsule", true);
    if (close)
      return end("peer closed: " + std::to_string(close->code) + " " + close->reason, true);
    if (fin) end("server ended the CONNECT stream", true);
  }

  // The server ended the session: answer with our FINs and close the connection.
  void end(std::string reason, bool fin_back) {
    if (ended_) return;
    ended_ = true;
    if (fin_back && !h3_->closed()) {
      h3_->send_data(connect_sid_, {}, true);
      h3_->send_raw(message_sid_, {}, true);
    }
    channel_->on_ended(std::move(reason));
    close_soon();
  }

  void close_soon() {
    spawn_logged(h3_->executor(), close_later(shared_from_this()), "webtransport client close");
  }

  static awaitable<void> close_later(std::shared_ptr<ClientSession> self) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(900);
    while (!self->h3_->closed() && std::chrono::steady_clock::now() < deadline &&
           (self->h3_->buffered(self->connect_sid_) > 0 ||
            self->h3_->buffered(self->message_sid_) > 0))
      co_await sleep_for(std::chrono::milliseconds(20));
    self->h3_->close();
  }

  std::shared_ptr<h3::ClientConnection> h3_;
  std::int64_t connect_sid_;
  std::int64_t message_sid_;
  std::shared_ptr<MessageChannel> channel_;
  CapsuleReader capsules_{64 << 10};
  bool ended_ = false;
};

}  // namespace

awaitable<std::unique_ptr<protocol::Transport>> connect(asio::any_io_executor ex,
                                                        ClientOptions options) {
  const auto url = parse_https_url(options.url);
  // The URL's query may carry the provider token: messages show it redacted.
  const std::string shown_url = http::redact_secrets(options.url);
  const auto start = std::chrono::steady_clock::now();
  auto left = [&] {
    return std::max(std::chrono::milliseconds(1),
                    options.timeout - std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now() - start));
  };
  quic::ClientOptions qo;
  qo.host = url.host;
  qo.port = url.port;
  qo.verification.certhash = options.certhash;
  qo.verification.ca_file = options.ca_file;
  qo.verification.server_name = url.host;
  qo.resolve_timeout = options.timeout;
  std::shared_ptr<h3::ClientConnection> h3;
  try {
    h3 = co_await h3::ClientConnection::connect(ex, qo, draft::local_settings(), options.timeout);
  } catch (const std::exception& e) {
    throw std::runtime_error("WebTransport connect to " + shown_url + " failed: " + e.what());
  }
  if (draft::negotiate(h3->peer_settings()) == draft::Version::kNone) {
    h3->close();
    throw std::runtime_error("WebTransport connect to " + shown_url +
                             " failed: the server does not support WebTransport (SETTINGS)");
  }
  http::Request req;
  req.scheme = "https";
  req.authority = url.authority;
  req.target = url.target;
  for (const auto& f : draft::connect_fields()) req.headers.add(f.name, f.value);
  if (!options.user_agent.empty()) req.headers.add("user-agent", options.user_agent);
  if (!options.origin.empty()) req.headers.add("origin", options.origin);
  std::pair<std::int64_t, unsigned> answer;
  try {
    answer = co_await h3->connect_extended(req, draft::kConnectProtocol, left());
  } catch (const std::exception& e) {
    h3->close();
    throw std::runtime_error("WebTransport connect to " + shown_url + " failed: " + e.what());
  }
  const auto [connect_sid, status] = answer;
  if (status < 200 || status > 299) {
    h3->close();
    throw std::runtime_error("WebTransport connect to " + shown_url + " refused with HTTP status " +
                             std::to_string(status));
  }
  std::string header;
  h3::append_varint(header, draft::kBidiSignal);
  h3::append_varint(header, static_cast<std::uint64_t>(connect_sid));
  auto message_sid = h3->open_raw_bidi(std::move(header));
  if (!message_sid) {
    h3->close();
    throw std::runtime_error("WebTransport connect to " + shown_url + " failed: no stream credit");
  }
  auto session =
      std::make_shared<ClientSession>(h3, connect_sid, *message_sid, options.max_message_size);
  session->start();
  co_return std::make_unique<WebTransportTransport>(session->channel(), session);
}

}  // namespace wasimoff::webtransport
