#include "net/websocket/websocket_transport.h"

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "common/build_info.h"
#include "common/strings.h"
#include "net/http/redact.h"

namespace wasimoff::websocket {

namespace beast = boost::beast;
namespace bws = boost::beast::websocket;
namespace bhttp = boost::beast::http;
using boost::system::error_code;
using protocol::CloseCode;
using protocol::Codec;

std::string select_subprotocol(std::string_view offered) {
  bool protobuf = false, json = false;
  for (auto part : split(offered, ',')) {
    auto p = trim(part);
    if (p == kProtobufSubprotocol) protobuf = true;
    if (p == kJsonSubprotocol) json = true;
  }
  if (protobuf) return std::string(kProtobufSubprotocol);
  if (json) return std::string(kJsonSubprotocol);
  return {};
}

namespace {

std::string_view codec_name(Codec c) {
  return c == Codec::kBinary ? kProtobufSubprotocol : kJsonSubprotocol;
}

template <typename NextLayer>
class WebSocketTransport final
    : public protocol::Transport,
      public std::enable_shared_from_this<WebSocketTransport<NextLayer>> {
 public:
  using Stream = bws::stream<NextLayer>;

  WebSocketTransport(std::unique_ptr<Stream> ws, Codec codec, std::string remote,
                     TransportOptions options, std::shared_ptr<void> keep = {})
      : keep_(std::move(keep)),
        ws_(std::move(ws)),
        codec_(codec),
        remote_(std::move(remote)),
        options_(options) {
    // Pings and pongs are signs of life too (a peer's answers to Beast's keep-alive pings).
    ws_->control_callback([this](bws::frame_type, beast::string_view) { touch(); });
  }

  ~WebSocketTransport() override {
    // Last resort: the owner dropped us without closing.
    error_code ec;
    beast::get_lowest_layer(*ws_).socket().close(ec);
  }

  awaitable<void> send(const v1::Envelope& envelope) override {
    if (ended_) throw boost::system::system_error(asio::error::not_connected, "websocket closed");
    std::string bytes = protocol::encode(envelope, codec_);
    ws_->binary(codec_ == Codec::kBinary);
    writing_ = true;
    error_code ec;
    // Large messages go out in fragments so that the peer's reading shows as progress
    // (last_activity): a provider receiving a big task over a slow link is busy, not hung. Only
    // fragments after the first count — small writes complete into kernel buffers whether the
    // peer reads or not.
    std::size_t offset = 0;
    do {
      const std::size_t n = std::min(kWriteChunk, bytes.size() - offset);
      const bool fin = offset + n == bytes.size();
      co_await ws_->async_write_some(fin, asio::buffer(bytes.data() + offset, n),
                                     asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      if (offset > 0) touch();
      offset += n;
    } while (offset < bytes.size());
    writing_ = false;
    if (close_pending_) start_close();
    if (ec) {
      end("send failed: " + ec.message());
      throw boost::system::system_error(ec, "websocket send");
    }
  }

  awaitable<std::optional<v1::Envelope>> receive() override {
    for (;;) {
      if (ended_ && !closing_) co_return std::nullopt;
      beast::flat_buffer buffer;
      error_code ec;
      // Read in pieces so that a large message in progress counts as a sign of life. Beast
      // reserves the piece's space before the bytes arrive, so the first piece is small: an idle
      // connection (most of a large fleet) then holds kFirstReadChunk bytes, not Beast's 1.5 KiB.
      std::size_t piece = kFirstReadChunk;
      do {
        co_await ws_->async_read_some(buffer, piece, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break;
        touch();
        piece = kReadChunk;
      } while (!ws_->is_message_done());
      if (ec) {
        if (ec == bws::error::closed) {
          auto r = ws_->reason();
          end(fmt::format("peer closed: {} {}", static_cast<int>(r.code),
                          std::string(r.reason.data(), r.reason.size())));
        } else if (ec == bws::error::message_too_big || ec == bws::error::buffer_overflow) {
          // Beast has already sent the 1009 close frame.
          oversized_ = !ended_;
          end(fmt::format("message larger than {} bytes (closed 1009)", options_.max_message_size));
        } else if (!closing_ || !ended_) {
          end("connection lost: " + ec.message());
        }
        closing_ = false;
        co_return std::nullopt;
      }
      if (closing_) continue;  // draining until the peer acknowledges our close
      bool is_text = ws_->got_text();
      if (is_text != (codec_ == Codec::kJson)) {
        close(CloseCode::kUnsupportedData,
              fmt::format("sent {} to a {} transport", is_text ? "MessageText" : "MessageBinary",
                          codec_name(codec_)));
        continue;
      }
      v1::Envelope env;
      auto data = buffer.data();
      std::string_view bytes(static_cast<const char*>(data.data()), data.size());
      if (auto err = protocol::decode(bytes, codec_, &env); !err.empty()) {
        close(CloseCode::kProtocolError, "undecodable envelope: " + err);
        continue;
      }
      co_return env;
    }
  }

  void close(CloseCode code, std::string reason) override {
    if (ended_) return;
    close_code_ = code;
    close_text_ = truncate_utf8(reason, 123);
    end(fmt::format("closed: {} {}", static_cast<int>(code), close_text_));
    closing_ = true;
    if (writing_) {
      close_pending_ = true;
      // A peer that stopped reading never lets the write finish (and would not read the close
      // frame either): end the connection after close_timeout regardless.
      auto self = this->shared_from_this();
      spawn_logged(ws_->get_executor(), hold(self, abort_after(options_.close_timeout)),
                   "websocket close deadline");
    } else {
      start_close();
    }
  }

  std::string remote_address() const override { return remote_; }
  std::string_view kind() const override { return "websocket"; }
  std::string end_reason() const override { return end_reason_; }
  bool ended_by_oversized_message() const override { return oversized_; }
  std::chrono::steady_clock::time_point last_activity() const override { return last_activity_; }

 private:
  static constexpr std::size_t kWriteChunk = 256 << 10;
  static constexpr std::size_t kReadChunk = 256 << 10;
  static constexpr std::size_t kFirstReadChunk = 512;

  void touch() { last_activity_ = std::chrono::steady_clock::now(); }

  void end(std::string reason) {
    if (ended_) return;
    ended_ = true;
    end_reason_ = std::move(reason);
  }

  void start_close() {
    close_pending_ = false;
    auto self = this->shared_from_this();
    spawn_logged(ws_->get_executor(), hold(self, do_close()), "websocket close");
  }

  awaitable<void> abort_after(std::chrono::milliseconds delay) {
    co_await sleep_for(delay);
    if (!close_pending_) co_return;  // the write finished and the closing handshake started
    error_code ec;
    beast::get_lowest_layer(*ws_).socket().close(ec);
  }

  awaitable<void> do_close() {
    error_code ec;
    // Beast's close operation sends the close frame, waits for the peer's close frame and tears
    // the connection down; the stream's handshake timeout bounds the whole closing handshake.
    // (Sleeping a fixed time afterwards would keep every closed transport, and any process
    // waiting for its event loop to drain, alive for that long.)
    bws::stream_base::timeout t{};
    ws_->get_option(t);
    t.handshake_timeout = options_.close_timeout;
    ws_->set_option(t);
    bws::close_reason cr(static_cast<bws::close_code>(close_code_), close_text_);
    co_await ws_->async_close(cr, asio::redirect_error(asio::use_awaitable, ec));
    // Done or failed (timeout, peer gone): the socket goes either way, which also ends a
    // reader that is still waiting.
    beast::get_lowest_layer(*ws_).socket().close(ec);
  }

  std::shared_ptr<void> keep_;  // e.g. the SSL context a TLS stream refers to; outlives ws_
  std::unique_ptr<Stream> ws_;
  Codec codec_;
  std::string remote_;
  TransportOptions options_;
  bool writing_ = false;
  bool close_pending_ = false;
  bool closing_ = false;
  bool ended_ = false;
  bool oversized_ = false;
  CloseCode close_code_ = CloseCode::kNormal;
  std::string close_text_;
  std::string end_reason_;
  std::chrono::steady_clock::time_point last_activity_ = std::chrono::steady_clock::now();
};

// Transports are shared (close() spawns a coroutine that must keep the object alive), but the
// Transport interface hands out unique_ptrs: this thin owner forwards to the shared object.
class TransportHandle final : public protocol::Transport {
 public:
  explicit TransportHandle(std::shared_ptr<protocol::Transport> impl) : impl_(std::move(impl)) {}
  ~TransportHandle() override { impl_->close(CloseCode::kNormal, "bye!"); }
  awaitable<void> send(const v1::Envelope& e) override { return impl_->send(e); }
  awaitable<std::optional<v1::Envelope>> receive() override { return impl_->receive(); }
  void close(CloseCode code, std::string reason) override { impl_->close(code, std::move(reason)); }
  std::string remote_address() const override { return impl_->remote_address(); }
  std::string_view kind() const override { return impl_->kind(); }
  std::string end_reason() const override { return impl_->end_reason(); }
  bool ended_by_oversized_message() const override { return impl_->ended_by_oversized_message(); }
  std::chrono::steady_clock::time_point last_activity() const override {
    return impl_->last_activity();
  }

 private:
  std::shared_ptr<protocol::Transport> impl_;
};

template <typename NextLayer>
void configure(bws::stream<NextLayer>& ws, const TransportOptions& options, bool server) {
  bws::stream_base::timeout t{};
  t.handshake_timeout = options.handshake_timeout;
  t.idle_timeout = options.idle_timeout;
  t.keep_alive_pings = true;
  ws.set_option(t);
  ws.read_message_max(options.max_message_size);
  ws.auto_fragment(false);
  // permessage-deflate is declined (the default: not enabled).
  (void)server;
}

template <typename NextLayer>
awaitable<std::unique_ptr<protocol::Transport>> accept_on(NextLayer stream,
                                                          http::UpgradeContext& up,
                                                          TransportOptions options) {
  auto ws = std::make_unique<bws::stream<NextLayer>>(std::move(stream));
  // The HTTP server's timeouts no longer apply; websocket timeouts take over.
  beast::get_lowest_layer(*ws).expires_never();
  configure(*ws, options, true);
  std::string proto = select_subprotocol(up.raw[bhttp::field::sec_websocket_protocol]);
  ws->set_option(bws::stream_base::decorator([proto](bws::response_type& res) {
    res.set(bhttp::field::server, "wasimoff-broker/" + std::string(build_version()));
    if (!proto.empty()) res.set(bhttp::field::sec_websocket_protocol, proto);
  }));
  error_code ec;
  co_await ws->async_accept(up.raw, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) throw boost::system::system_error(ec, "websocket handshake");
  auto codec = proto == kJsonSubprotocol ? Codec::kJson : Codec::kBinary;
  // The transport keeps the connection's per-address slot (http::UpgradeContext) while it lives.
  auto t = std::make_shared<WebSocketTransport<NextLayer>>(std::move(ws), codec, up.request.remote,
                                                           options, up.address_slot);
  if (proto.empty()) {
    t->close(CloseCode::kProtocolError,
             fmt::format("supported protocols: {}, {}", kProtobufSubprotocol, kJsonSubprotocol));
    co_return nullptr;
  }
  co_return std::make_unique<TransportHandle>(std::move(t));
}

}  // namespace

awaitable<std::unique_ptr<protocol::Transport>> accept(http::UpgradeContext& upgrade,
                                                       TransportOptions options) {
  http::AnyStream stream = upgrade.take_stream();
  if (auto* plain = std::get_if<http::TcpStream>(&stream))
    co_return co_await accept_on(std::move(*plain), upgrade, options);
  co_return co_await accept_on(std::move(std::get<http::TlsStream>(stream)), upgrade, options);
}

namespace {

template <typename NextLayer>
awaitable<std::unique_ptr<protocol::Transport>> client_handshake(
    std::unique_ptr<bws::stream<NextLayer>> ws, const http::Url& url, const ConnectOptions& options,
    std::string remote, std::shared_ptr<void> keep) {
  configure(*ws, options.transport, false);
  std::string offered;
  for (const auto& p : options.subprotocols) offered += (offered.empty() ? "" : ", ") + p;
  auto headers = options.headers;
  ws->set_option(bws::stream_base::decorator([offered, headers](bws::request_type& req) {
    if (!offered.empty()) req.set(bhttp::field::sec_websocket_protocol, offered);
    if (!headers.has("User-Agent"))
      req.set(bhttp::field::user_agent, "wasimoff/" + std::string(build_version()));
    for (const auto& [k, v] : headers) req.set(k, v);
  }));
  bws::response_type res;
  error_code ec;
  co_await ws->async_handshake(res, url.authority(), url.target,
                               asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    // Only a real answer is a refusal: Beast presets the response's status (500) before the
    // handshake and leaves it there when the handshake times out or the connection closes, which
    // used to read "upgrade refused: HTTP 500" for a Broker that never answered.
    if (ec == bws::error::upgrade_declined && res.result_int() != 0 && res.result_int() != 101)
      throw std::runtime_error(fmt::format("websocket upgrade refused by {}: HTTP {} {}",
                                           url.origin(), res.result_int(),
                                           std::string(trim(res.body()))));
    throw std::runtime_error(
        fmt::format("websocket handshake with {} failed: {}", url.origin(), ec.message()));
  }
  std::string proto(res[bhttp::field::sec_websocket_protocol]);
  if (proto != kProtobufSubprotocol && proto != kJsonSubprotocol) {
    error_code ignored;
    co_await ws->async_close(bws::close_code::protocol_error,
                             asio::redirect_error(asio::use_awaitable, ignored));
    throw std::runtime_error("websocket: server did not accept any offered subprotocol");
  }
  auto codec = proto == kJsonSubprotocol ? Codec::kJson : Codec::kBinary;
  auto t = std::make_shared<WebSocketTransport<NextLayer>>(std::move(ws), codec, std::move(remote),
                                                           options.transport, std::move(keep));
  co_return std::make_unique<TransportHandle>(std::move(t));
}

}  // namespace

awaitable<std::unique_ptr<protocol::Transport>> connect(asio::any_io_executor ex,
                                                        std::string url_text,
                                                        ConnectOptions options) {
  auto url = http::Url::parse(url_text);
  if (!url) throw std::runtime_error("invalid WebSocket URL: " + http::redact_secrets(url_text));
  asio::ip::tcp::resolver resolver(ex);
  error_code ec;
  auto results = co_await resolver.async_resolve(url->host, std::to_string(url->port),
                                                 asio::redirect_error(asio::use_awaitable, ec));
  if (ec) throw std::runtime_error("cannot resolve " + url->host + ": " + ec.message());
  beast::tcp_stream tcp(ex);
  tcp.expires_after(options.connect_timeout);
  auto ep = co_await tcp.async_connect(results, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) throw std::runtime_error("cannot connect to " + url->origin() + ": " + ec.message());
  tcp.expires_never();
  tcp.socket().set_option(asio::ip::tcp::no_delay(true), ec);
  std::string remote = http::format_endpoint(ep);
  if (!url->tls()) {
    auto ws = std::make_unique<bws::stream<beast::tcp_stream>>(std::move(tcp));
    co_return co_await client_handshake(std::move(ws), *url, options, remote, nullptr);
  }
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  if (options.insecure) {
    ctx->set_verify_mode(asio::ssl::verify_none);
  } else {
    ctx->set_verify_mode(asio::ssl::verify_peer);
    if (!options.ca_file.empty())
      ctx->load_verify_file(options.ca_file);
    else
      ctx->set_default_verify_paths();
  }
  auto ws =
      std::make_unique<bws::stream<beast::ssl_stream<beast::tcp_stream>>>(std::move(tcp), *ctx);
  if (!options.insecure)
    ws->next_layer().set_verify_callback(asio::ssl::host_name_verification(url->host));
  SSL_set_tlsext_host_name(ws->next_layer().native_handle(), url->host.c_str());
  beast::get_lowest_layer(*ws).expires_after(options.connect_timeout);
  co_await ws->next_layer().async_handshake(asio::ssl::stream_base::client,
                                            asio::redirect_error(asio::use_awaitable, ec));
  if (ec)
    throw std::runtime_error("TLS handshake with " + url->origin() + " failed: " + ec.message());
  beast::get_lowest_layer(*ws).expires_never();
  co_return co_await client_handshake(std::move(ws), *url, options, remote, ctx);
}

}  // namespace wasimoff::websocket
