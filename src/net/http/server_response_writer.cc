// Writing a response on an HTTP/1.1 connection: status line and headers (Server and common
// headers added, Content-Length and Connection set by us, header values with line breaks or NUL
// dropped), then the body (string, shared bytes or a file range) in chunks, each under the I/O
// timeout of the write watchdog. Called by the processor coroutine (server_connection.cc) and, for
// `100 Continue`, by the request reader; see server_connection.h.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/write.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include "common/strings.h"
#include "net/http/server_connection.h"

namespace wasimoff::http::detail {

namespace bhttp = boost::beast::http;

template <typename Stream>
void Connection<Stream>::observe(const std::string& method, unsigned status,
                                 Clock::time_point received) {
  if (server_->options.observe)
    server_->options.observe(method, status,
                             std::chrono::duration<double>(Clock::now() - received).count());
}

template <typename Stream>
awaitable<void> Connection<Stream>::write_raw(std::string_view bytes, error_code& ec) {
  write_dog_.arm(server_->options.io_timeout);
  co_await asio::async_write(*stream_, asio::buffer(bytes.data(), bytes.size()),
                             asio::redirect_error(asio::use_awaitable, ec));
  write_dog_.disarm();
}

template <typename Stream>
awaitable<void> Connection<Stream>::write_response(Response& r, std::string_view method,
                                                   bool keep_alive, unsigned version,
                                                   error_code& ec) {
  const auto& opt = server_->options;
  bool no_body = r.status == 204 || r.status == 304 || (r.status >= 100 && r.status < 200);
  bool head = method == "HEAD";
  bhttp::response<bhttp::empty_body> res{static_cast<bhttp::status>(r.status), version};
  if (opt.server_header.size()) r.headers.set("Server", opt.server_header);
  if (opt.common_headers) opt.common_headers(r.headers);
  for (const auto& [name, value] : r.headers) {
    if (iequals(name, "Content-Length") || iequals(name, "Connection")) continue;
    if (!safe_header_value(value) || !safe_header_value(name)) {
      spdlog::error("{}: dropping response header {} with a line break or NUL in it", opt.name,
                    escape_untrusted(name, 64, true));
      continue;
    }
    res.insert(name, value);
  }
  std::uint64_t size = r.body_size();
  if (!no_body) res.content_length(size);
  res.keep_alive(keep_alive);
  bhttp::response_serializer<bhttp::empty_body> sr{res};
  write_dog_.arm(opt.io_timeout);
  co_await bhttp::async_write_header(*stream_, sr, asio::redirect_error(asio::use_awaitable, ec));
  if (!ec && !no_body && !head && size > 0) co_await write_body(r.body, ec);
  write_dog_.disarm();
}

template <typename Stream>
awaitable<void> Connection<Stream>::write_chunks(const char* data, std::size_t size,
                                                 error_code& ec) {
  constexpr std::size_t kChunk = 1 << 20;
  for (std::size_t off = 0; off < size && !ec; off += kChunk) {
    write_dog_.arm(server_->options.io_timeout);
    co_await asio::async_write(*stream_, asio::buffer(data + off, std::min(kChunk, size - off)),
                               asio::redirect_error(asio::use_awaitable, ec));
  }
}

template <typename Stream>
awaitable<void> Connection<Stream>::write_body(const Body& body, error_code& ec) {
  if (auto* s = std::get_if<std::string>(&body)) {
    co_await write_chunks(s->data(), s->size(), ec);
  } else if (auto* b = std::get_if<SharedBytes>(&body)) {
    auto keep = b->data;  // keep the bytes alive across suspension
    co_await write_chunks(keep->data() + b->offset, b->length, ec);
  } else if (auto* f = std::get_if<FileRange>(&body)) {
    int fd = ::open(f->path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      ec = error_code(errno, boost::system::system_category());
      co_return;
    }
    std::string chunk(256 << 10, '\0');
    std::uint64_t off = f->offset, left = f->length;
    while (left > 0 && !ec) {
      auto n = ::pread(fd, chunk.data(), std::min<std::uint64_t>(chunk.size(), left),
                       static_cast<off_t>(off));
      if (n <= 0) {  // file shrank underneath us: the response can't be completed
        ec = asio::error::eof;
        break;
      }
      write_dog_.arm(server_->options.io_timeout);
      co_await asio::async_write(*stream_, asio::buffer(chunk.data(), static_cast<std::size_t>(n)),
                                 asio::redirect_error(asio::use_awaitable, ec));
      off += static_cast<std::uint64_t>(n);
      left -= static_cast<std::uint64_t>(n);
    }
    ::close(fd);
  }
}

template void Connection<TcpStream>::observe(const std::string&, unsigned, Clock::time_point);
template awaitable<void> Connection<TcpStream>::write_raw(std::string_view, error_code&);
template awaitable<void> Connection<TcpStream>::write_response(Response&, std::string_view, bool,
                                                               unsigned, error_code&);
template awaitable<void> Connection<TcpStream>::write_chunks(const char*, std::size_t, error_code&);
template awaitable<void> Connection<TcpStream>::write_body(const Body&, error_code&);
template void Connection<TlsStream>::observe(const std::string&, unsigned, Clock::time_point);
template awaitable<void> Connection<TlsStream>::write_raw(std::string_view, error_code&);
template awaitable<void> Connection<TlsStream>::write_response(Response&, std::string_view, bool,
                                                               unsigned, error_code&);
template awaitable<void> Connection<TlsStream>::write_chunks(const char*, std::size_t, error_code&);
template awaitable<void> Connection<TlsStream>::write_body(const Body&, error_code&);

}  // namespace wasimoff::http::detail
