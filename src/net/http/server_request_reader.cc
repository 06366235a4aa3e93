// Reading one HTTP/1.1 request of a connection, with the server's limits: header section
// (431) and body (413) size, malformed requests (400), the time limit for a request's header
// (from its first byte; for the first request from the connection's start), the I/O timeout while
// bytes are expected, and the idle keep-alive timeout between requests (not while a handler
// runs). Answers `Expect: 100-continue` once no response is being written. Called by the reader
// coroutine (server_connection.cc) for every request; see server_connection.h.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include "net/http/server_connection.h"

namespace wasimoff::http::detail {

namespace bhttp = boost::beast::http;

bool is_disconnect(const error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor ||
         ec == asio::ssl::error::stream_truncated;
}

Request translate(BeastRequest& raw, const std::string& remote, bool tls) {
  Request r;
  r.method = std::string(raw.method_string());
  r.target = std::string(raw.target());
  auto q = r.target.find('?');
  r.path = r.target.substr(0, q);
  if (q != std::string::npos) r.query = r.target.substr(q + 1);
  for (const auto& f : raw) r.headers.add(std::string(f.name_string()), std::string(f.value()));
  r.authority = std::string(raw[bhttp::field::host]);
  r.scheme = tls ? "https" : "http";
  r.version = raw.version() == 10 ? "HTTP/1.0" : "HTTP/1.1";
  r.body = std::move(raw.body());
  r.remote = remote;
  return r;
}

template <typename Stream>
awaitable<bool> Connection<Stream>::read_one(Incoming& item, bool& upgrade) {
  const auto& opt = server_->options;
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(opt.max_header_size);
  parser.body_limit(opt.max_body_size);
  error_code ec;
  bool started = buffer_.size() > 0;
  // The header must be complete within header_timeout of its first byte; for the first
  // request the clock starts now (a connection that sends nothing ends as soon).
  const bool bounded_header = opt.header_timeout.count() > 0;
  auto header_deadline = Clock::time_point::max();
  if (bounded_header && (started || first_request_))
    header_deadline = Clock::now() + opt.header_timeout;
  first_request_ = false;
  while (!parser.is_header_done()) {
    arm_header_read(header_deadline, started);
    reader_waiting_ = !started && header_deadline == Clock::time_point::max();
    co_await bhttp::async_read_some(*stream_, buffer_, parser,
                                    asio::redirect_error(asio::use_awaitable, ec));
    reader_waiting_ = false;
    if (buffer_.size() > 0 || parser.got_some()) {
      if (!started && bounded_header && header_deadline == Clock::time_point::max())
        header_deadline = Clock::now() + opt.header_timeout;
      started = true;
    }
    if (ec) break;
  }
  if (!ec && parser.is_header_done()) {
    auto& req = parser.get();
    if (req[bhttp::field::expect] == "100-continue" && !parser.is_done()) {
      co_await wait_idle();
      if (!peer_closed_) co_await write_raw("HTTP/1.1 100 Continue\r\n\r\n", ec);
    }
    while (!ec && !parser.is_done()) {
      read_dog_.arm(opt.io_timeout);
      co_await bhttp::async_read_some(*stream_, buffer_, parser,
                                      asio::redirect_error(asio::use_awaitable, ec));
    }
  }
  read_dog_.disarm();
  if (ec) {
    classify_read_error(ec, started, item);
    co_return false;
  }
  item.request = std::make_unique<BeastRequest>(parser.release());
  item.received = Clock::now();
  upgrade = server_->upgrades.count(path_of(item.request->target())) > 0;
  co_return true;
}

template <typename Stream>
void Connection<Stream>::arm_header_read(Clock::time_point header_deadline, bool started) {
  // Idle keep-alive timeout only applies while nothing is in flight; a running task keeps the
  // connection open indefinitely.
  const auto& opt = server_->options;
  if (header_deadline != Clock::time_point::max()) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(header_deadline - Clock::now());
    read_dog_.arm(std::max(std::chrono::milliseconds(0), std::min(left, opt.io_timeout)));
  } else if (started) {
    read_dog_.arm(opt.io_timeout);
  } else if (busy_) {
    read_dog_.disarm();
  } else {
    read_dog_.arm(opt.idle_timeout);
  }
}

template <typename Stream>
void Connection<Stream>::classify_read_error(const error_code& ec, bool started, Incoming& item) {
  if (ec == bhttp::error::header_limit) {
    item.error_status = 431;
    item.error_text = "request header fields too large";
  } else if (ec == bhttp::error::body_limit) {
    item.error_status = 413;
    item.error_text = "request body too large";
  } else if (started &&
             &ec.category() == &bhttp::make_error_code(bhttp::error::bad_target).category() &&
             ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
    item.error_status = 400;
    item.error_text = "bad request: " + ec.message();
  } else if (!is_disconnect(ec) && started) {
    spdlog::debug("{}: read from {} failed: {}", server_->options.name, remote_, ec.message());
  }
}

template awaitable<bool> Connection<TcpStream>::read_one(Incoming&, bool&);
template void Connection<TcpStream>::arm_header_read(Clock::time_point, bool);
template void Connection<TcpStream>::classify_read_error(const error_code&, bool, Incoming&);
template awaitable<bool> Connection<TlsStream>::read_one(Incoming&, bool&);
template void Connection<TlsStream>::arm_header_read(Clock::time_point, bool);
template void Connection<TlsStream>::classify_read_error(const error_code&, bool, Incoming&);

}  // namespace wasimoff::http::detail
