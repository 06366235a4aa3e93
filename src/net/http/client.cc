#include "net/http/client.h"

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <charconv>

#include "common/build_info.h"
#include "common/strings.h"
#include "net/http/redact.h"

namespace wasimoff::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

std::optional<Url> Url::parse(std::string_view text) {
  Url u;
  auto sep = text.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  u.scheme = to_lower(text.substr(0, sep));
  if (u.scheme != "http" && u.scheme != "https" && u.scheme != "ws" && u.scheme != "wss")
    return std::nullopt;
  auto rest = text.substr(sep + 3);
  auto slash = rest.find_first_of("/?");
  auto authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    u.target = std::string(rest.substr(slash));
    if (u.target[0] == '?') u.target = "/" + u.target;
  }
  std::string_view port_text;
  if (!authority.empty() && authority[0] == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    u.host = std::string(authority.substr(1, close - 1));
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return std::nullopt;
      port_text = after.substr(1);
    }
  } else {
    auto colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (u.host.empty()) return std::nullopt;
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || port == 0 || port > 65535)
      return std::nullopt;
    u.port = static_cast<std::uint16_t>(port);
  } else {
    u.port = u.tls() ? 443 : 80;
  }
  return u;
}

std::string Url::authority() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

std::string Url::origin() const {
  return scheme + "://" + authority();
}

struct HttpClient::Impl {
  Impl(asio::any_io_executor ex, Url url, ClientOptions options)
      : ex(std::move(ex)), url(std::move(url)), options(std::move(options)) {}

  asio::any_io_executor ex;
  Url url;
  ClientOptions options;
  std::shared_ptr<asio::ssl::context> ssl_ctx;
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;

  beast::tcp_stream& lowest() { return plain ? *plain : beast::get_lowest_layer(*secure); }
  bool connected() const { return plain || secure; }

  std::string where(std::string_view method, std::string_view target) const {
    return std::string(method) + " " + url.origin() + std::string(target);
  }

  void close() {
    error_code ec;
    if (plain) plain->socket().close(ec);
    if (secure) beast::get_lowest_layer(*secure).socket().close(ec);
    plain.reset();
    secure.reset();
    buffer.clear();
  }

  awaitable<void> connect(std::string_view what) {
    tcp::resolver resolver(ex);
    error_code ec;
    auto results = co_await resolver.async_resolve(url.host, std::to_string(url.port),
                                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec)
      throw HttpClientError(std::string(what) + ": cannot resolve " + url.host + ": " +
                            ec.message());
    auto stream = std::make_unique<beast::tcp_stream>(ex);
    stream->expires_after(options.connect_timeout);
    co_await stream->async_connect(results, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) throw HttpClientError(std::string(what) + ": " + ec.message());
    stream->socket().set_option(tcp::no_delay(true), ec);
    if (!url.tls()) {
      plain = std::move(stream);
      co_return;
    }
    if (!ssl_ctx) {
      ssl_ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
      if (options.insecure) {
        ssl_ctx->set_verify_mode(asio::ssl::verify_none);
      } else {
        ssl_ctx->set_verify_mode(asio::ssl::verify_peer);
        if (!options.ca_file.empty())
          ssl_ctx->load_verify_file(options.ca_file);
        else
          ssl_ctx->set_default_verify_paths();
      }
    }
    secure = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(*stream), *ssl_ctx);
    if (!options.insecure) secure->set_verify_callback(asio::ssl::host_name_verification(url.host));
    SSL_set_tlsext_host_name(secure->native_handle(), url.host.c_str());
    beast::get_lowest_layer(*secure).expires_after(options.connect_timeout);
    co_await secure->async_handshake(asio::ssl::stream_base::client,
                                     asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      secure.reset();
      throw HttpClientError(std::string(what) + ": TLS handshake failed: " + ec.message());
    }
  }

  template <typename Stream>
  awaitable<ClientResponse> exchange(Stream& stream, bhttp::request<bhttp::string_body>& req,
                                     std::string_view what, error_code& ec) {
    lowest().expires_after(options.io_timeout);
    co_await bhttp::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
    ClientResponse out;
    if (ec) co_return out;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(options.max_response_body);
    parser.header_limit(64 << 10);
    if (req.method() == bhttp::verb::head) parser.skip(true);
    while (!parser.is_done()) {
      lowest().expires_after(options.io_timeout);
      co_await bhttp::async_read_some(stream, buffer, parser,
                                      asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return out;
    }
    lowest().expires_never();
    auto res = parser.release();
    out.status = res.result_int();
    for (const auto& f : res) out.headers.add(std::string(f.name_string()), std::string(f.value()));
    out.body = std::move(res.body());
    if (!res.keep_alive()) close();
    (void)what;
    co_return out;
  }
};

HttpClient::HttpClient(asio::any_io_executor ex, std::string origin, ClientOptions options) {
  auto url = Url::parse(origin);
  if (!url) throw HttpClientError("invalid URL: " + redact_secrets(origin));
  if (url->scheme == "ws") url->scheme = "http";
  if (url->scheme == "wss") url->scheme = "https";
  impl_ = std::make_unique<Impl>(std::move(ex), std::move(*url), std::move(options));
}

HttpClient::~HttpClient() {
  impl_->close();
}

void HttpClient::close() {
  impl_->close();
}

const Url& HttpClient::url() const {
  return impl_->url;
}

awaitable<ClientResponse> HttpClient::request(std::string method, std::string target,
                                              Headers headers, std::string body) {
  auto& d = *impl_;
  std::string what = d.where(method, target);
  bhttp::request<bhttp::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(bhttp::field::host, d.url.authority());
  req.set(bhttp::field::user_agent, d.options.user_agent.empty()
                                        ? "wasimoff/" + std::string(build_version())
                                        : d.options.user_agent);
  for (const auto& [k, v] : headers) req.insert(k, v);
  req.body() = std::move(body);
  if (!req.body().empty() || method == "POST" || method == "PUT") req.prepare_payload();
  req.keep_alive(true);

  // A kept-alive connection may have been closed by the server meanwhile: retry once on a fresh
  // connection when the failure happened on a reused one.
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = d.connected();
    if (!reused) co_await d.connect(what);
    error_code ec;
    // Not a ?: expression: GCC 12 miscompiles co_await inside the conditional operator
    // (the result was destroyed twice).
    ClientResponse res;
    if (d.plain)
      res = co_await d.exchange(*d.plain, req, what, ec);
    else
      res = co_await d.exchange(*d.secure, req, what, ec);
    if (!ec) co_return res;
    d.close();
    bool stale = reused && (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
                            ec == asio::error::connection_reset || ec == asio::error::broken_pipe);
    if (!stale || attempt == 1) {
      std::string reason = ec == beast::error::timeout ? "timed out" : ec.message();
      throw HttpClientError(what + ": " + reason);
    }
  }
  throw HttpClientError(what + ": failed");
}

awaitable<ClientResponse> fetch(asio::any_io_executor ex, std::string method, std::string url,
                                Headers headers, std::string body, ClientOptions options) {
  auto parsed = Url::parse(url);
  if (!parsed) throw HttpClientError("invalid URL: " + redact_secrets(url));
  HttpClient client(std::move(ex), parsed->origin(), std::move(options));
  co_return co_await client.request(std::move(method), parsed->target, std::move(headers),
                                    std::move(body));
}

}  // namespace wasimoff::http
