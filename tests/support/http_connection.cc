#include "http_connection.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstring>
#include <stdexcept>

namespace wasimoff::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

struct HttpConnection::Impl {
  explicit Impl(std::chrono::milliseconds timeout) : timeout(timeout), stream(io) {}

  // Runs one asynchronous operation to completion (bounded by the stream's timeout).
  template <typename Start>
  error_code run(Start start, std::size_t* transferred = nullptr) {
    error_code result = asio::error::would_block;
    std::size_t n = 0;
    stream.expires_after(timeout);
    start([&](error_code ec, std::size_t bytes) {
      result = ec;
      n = bytes;
    });
    io.restart();
    io.run();
    if (transferred) *transferred = n;
    return result;
  }

  static http::ClientResponse convert(const bhttp::response_parser<bhttp::string_body>& parser) {
    http::ClientResponse out;
    const auto& res = parser.get();
    out.status = res.result_int();
    for (const auto& f : res) out.headers.add(std::string(f.name_string()), std::string(f.value()));
    out.body = res.body();
    return out;
  }

  std::chrono::milliseconds timeout;
  asio::io_context io;
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
};

HttpConnection::HttpConnection(std::uint16_t port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(timeout)) {
  asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
  auto ec = impl_->run([&](auto handler) {
    impl_->stream.async_connect(ep, [handler](error_code e) mutable { handler(e, 0); });
  });
  if (ec)
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + ": " + ec.message());
  impl_->stream.socket().set_option(asio::ip::tcp::no_delay(true), ec);
}

HttpConnection::~HttpConnection() {
  close();
}

void HttpConnection::close() {
  error_code ec;
  impl_->stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  impl_->stream.socket().close(ec);
}

void HttpConnection::send(const std::string& bytes) {
  auto ec = impl_->run(
      [&](auto handler) { asio::async_write(impl_->stream, asio::buffer(bytes), handler); });
  if (ec) throw std::runtime_error("send failed: " + ec.message());
}

http::ClientResponse HttpConnection::read_response(bool head) {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(1ull << 30);
  parser.header_limit(1u << 20);
  if (head) parser.skip(true);
  auto ec = impl_->run(
      [&](auto handler) { bhttp::async_read(impl_->stream, impl_->buffer, parser, handler); });
  if (ec) throw std::runtime_error("reading a response failed: " + ec.message());
  return Impl::convert(parser);
}

http::ClientResponse HttpConnection::read_headers_only() {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.header_limit(1u << 20);
  parser.body_limit(boost::none);  // the body is read (or not) with read_some()
  auto ec = impl_->run([&](auto handler) {
    bhttp::async_read_header(impl_->stream, impl_->buffer, parser, handler);
  });
  if (ec) throw std::runtime_error("reading a response header failed: " + ec.message());
  return Impl::convert(parser);
}

std::string HttpConnection::read_some(std::size_t max) {
  auto& buffer = impl_->buffer;
  if (buffer.size() > 0) {
    std::size_t n = std::min(max, buffer.size());
    std::string out(static_cast<const char*>(buffer.data().data()), n);
    buffer.consume(n);
    return out;
  }
  std::string out(max, '\0');
  std::size_t n = 0;
  auto ec = impl_->run(
      [&](auto handler) { impl_->stream.async_read_some(asio::buffer(out), handler); }, &n);
  if (ec == asio::error::eof || ec == asio::error::connection_reset) return {};
  if (ec) throw std::runtime_error("read failed: " + ec.message());
  out.resize(n);
  return out;
}

http::ClientResponse HttpConnection::request(const std::string& method, const std::string& target,
                                             const http::Headers& headers,
                                             const std::string& body) {
  std::string raw = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [name, value] : headers) raw += name + ": " + value + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT")
    raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  raw += "\r\n" + body;
  send(raw);
  return read_response(method == "HEAD");
}

bool HttpConnection::closed_by_peer(std::optional<std::chrono::milliseconds> wait) {
  if (impl_->buffer.size() > 0) return false;
  // Not through the tcp_stream's own timeout: that would close the socket when it expires, and
  // a connection that stayed open must stay usable.
  auto& socket = impl_->stream.socket();
  impl_->stream.expires_never();
  asio::steady_timer timer(impl_->io, wait.value_or(impl_->timeout));
  char byte[4096];
  std::size_t n = 0;
  error_code result = asio::error::would_block;
  bool read_done = false;
  socket.async_read_some(asio::buffer(byte), [&](error_code ec, std::size_t bytes) {
    result = ec;
    n = bytes;
    read_done = true;
    timer.cancel();
  });
  timer.async_wait([&](error_code) {
    if (!read_done) socket.cancel();
  });
  impl_->io.restart();
  impl_->io.run();
  if (result == asio::error::eof || result == asio::error::connection_reset) return true;
  if (!result && n > 0) {
    auto dst = impl_->buffer.prepare(n);
    std::memcpy(dst.data(), byte, n);
    impl_->buffer.commit(n);
  }
  return false;
}

std::uint16_t HttpConnection::local_port() const {
  error_code ec;
  return impl_->stream.socket().local_endpoint(ec).port();
}

void HttpConnection::set_receive_buffer(int bytes) {
  error_code ec;
  impl_->stream.socket().set_option(asio::socket_base::receive_buffer_size(bytes), ec);
}

}  // namespace wasimoff::testing
