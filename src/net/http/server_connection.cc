// The loop of one HTTP/1.1 connection: TLS handshake, the reader coroutine handing requests to
// the processor coroutine, upgrade routes taking over the stream, draining and closing. See
// server_connection.h for the contract; reading and writing are in server_request_reader.cc and
// server_response_writer.cc.
#include "net/http/server_connection.h"

#include <spdlog/spdlog.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl/stream_base.hpp>

#include "common/strings.h"

namespace wasimoff::http::detail {

using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

template <typename Stream>
awaitable<void> Connection<Stream>::run() {
  // The watchdog coroutines keep the connection alive (their timers live in it); finish()
  // stops them when the connection ends.
  auto self = this->shared_from_this();
  spawn_logged(ex_, hold(self, read_dog_.run([this] { close_socket(); })), "http read watchdog");
  spawn_logged(ex_, hold(self, write_dog_.run([this] { close_socket(); })), "http write watchdog");
  if constexpr (kTls) {
    read_dog_.arm(server_->options.handshake_timeout);
    error_code ec;
    co_await stream_->async_handshake(asio::ssl::stream_base::server,
                                      asio::redirect_error(asio::use_awaitable, ec));
    read_dog_.disarm();
    if (ec) {
      spdlog::debug("{}: TLS handshake with {} failed: {}", server_->options.name, remote_,
                    ec.message());
      finish();
      co_return;
    }
  }
  co_await (reader() && processor());
  finish();
}

template <typename Stream>
void Connection<Stream>::close_socket() {
  if (!stream_ || taken_) return;
  error_code ec;
  socket().shutdown(tcp::socket::shutdown_both, ec);
  socket().close(ec);
}

template <typename Stream>
void Connection<Stream>::finish() {
  read_dog_.stop();
  write_dog_.stop();
  close_socket();
  if (current_ctx_) current_ctx_->peer_gone().set();
}

template <typename Stream>
awaitable<void> Connection<Stream>::reader() {
  for (;;) {
    auto item = std::make_shared<Incoming>();
    bool upgrade = false;
    bool ok = co_await read_one(*item, upgrade);
    if (!ok && !item->error_status) {
      // Peer went away (or timeout / shutdown): anything in flight is abandoned.
      peer_closed_ = true;
      if (current_ctx_) current_ctx_->peer_gone().set();
      incoming_.close();
      co_return;
    }
    error_code ec;
    co_await incoming_.async_send(error_code{}, item,
                                  asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {  // the processor is gone (connection ending)
      incoming_.close();
      co_return;
    }
    if (item->error_status) {
      co_await end_of_requests();
      co_return;
    }
    bool keep_alive = item->request->keep_alive();
    if (upgrade) {
      // The processor decides: handed over (stop) or answered (continue reading).
      co_await wait_resume();
      if (taken_ || !continue_after_upgrade_) {
        incoming_.close();
        co_return;
      }
    } else if (!keep_alive) {
      co_await end_of_requests();
      co_return;
    }
  }
}

template <typename Stream>
awaitable<void> Connection<Stream>::end_of_requests() {
  error_code ec;
  co_await incoming_.async_send(error_code{}, nullptr,
                                asio::redirect_error(asio::use_awaitable, ec));
}

template <typename Stream>
void Connection<Stream>::release_reader() {
  incoming_.cancel();  // pending async_send completes with an error
  incoming_.close();
  resume_reader(false);
}

template <typename Stream>
awaitable<void> Connection<Stream>::wait_resume() {
  while (!resume_) {
    error_code ec;
    co_await reader_resume_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  resume_ = false;
}

template <typename Stream>
void Connection<Stream>::resume_reader(bool continue_reading) {
  continue_after_upgrade_ = continue_reading;
  resume_ = true;
  reader_resume_.cancel();
}

template <typename Stream>
awaitable<void> Connection<Stream>::wait_idle() {
  while (busy_ && !peer_closed_) {
    error_code ec;
    co_await idle_signal_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

template <typename Stream>
void Connection<Stream>::set_busy(bool busy) {
  busy_ = busy;
  if (busy) return;
  idle_signal_.cancel();
  // The reader may be waiting for the next request with its watchdog disarmed (it was waiting
  // behind a running handler): the idle keep-alive timeout applies from now on.
  if (reader_waiting_) read_dog_.arm(server_->options.idle_timeout);
}

template <typename Stream>
awaitable<void> Connection<Stream>::processor() {
  for (;;) {
    error_code ec;
    auto item = co_await incoming_.async_receive(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !item) {
      release_reader();
      co_return;
    }
    set_busy(true);
    bool keep_going = co_await process(*item);
    set_busy(false);
    if (!keep_going || draining_ || peer_closed_) {
      if (!taken_) close_socket();
      release_reader();
      co_return;
    }
  }
}

template <typename Stream>
awaitable<bool> Connection<Stream>::process(Incoming& item) {
  if (item.error_status) {
    Response r = Response::text(item.error_status, item.error_text);
    error_code ec;
    co_await write_response(r, "", false, 11, ec);
    co_return false;
  }
  auto& raw = *item.request;
  bool tls = kTls;
  Request req = translate(raw, remote_, tls);
  RequestContext ctx(ex_);
  current_ctx_ = &ctx;
  if (server_->upgrades.count(req.path)) co_return co_await process_upgrade(item, std::move(req));
  Response response = co_await server_->router.dispatch(req, ctx);
  current_ctx_ = nullptr;
  if (peer_closed_) co_return false;  // nobody to answer
  bool keep = raw.keep_alive() && !draining_;
  error_code ec;
  co_await write_response(response, req.method, keep, raw.version(), ec);
  observe(req.method, response.status, item.received);
  co_return keep && !ec;
}

template <typename Stream>
awaitable<bool> Connection<Stream>::process_upgrade(Incoming& item, Request req) {
  UpgradeContext uctx{std::move(*item.request), std::move(req), {}, address_slot_};
  auto self = this->shared_from_this();
  uctx.take_stream = [self]() -> AnyStream {
    self->taken_ = true;
    self->read_dog_.stop();
    self->write_dog_.stop();
    AnyStream s{std::in_place_type<Stream>, std::move(*self->stream_)};
    self->stream_.reset();
    return s;
  };
  std::optional<Response> answer;
  try {
    answer = co_await server_->upgrades.at(uctx.request.path)(uctx);
  } catch (const std::exception& e) {
    spdlog::error("{}: upgrade handler failed: {}", server_->options.name, e.what());
    if (!taken_) answer = Response::text(500, "internal server error");
  }
  current_ctx_ = nullptr;
  if (taken_) {
    resume_reader(false);
    co_return false;
  }
  if (!answer) {  // a handler that neither took the stream nor answered: a bug of ours
    spdlog::error("{}: upgrade handler for {} gave no answer", server_->options.name,
                  escape_untrusted(uctx.request.path));
    answer = Response::text(500, "internal server error");
  }
  bool keep = uctx.raw.keep_alive() && !draining_;
  error_code ec;
  co_await write_response(*answer, uctx.request.method, keep, uctx.raw.version(), ec);
  observe(uctx.request.method, answer->status, item.received);
  resume_reader(keep && !ec);
  co_return keep && !ec;
}

template class Connection<TcpStream>;
template class Connection<TlsStream>;

}  // namespace wasimoff::http::detail
