// One HTTP/1.1 connection of the HttpServer (plain TCP or TLS), internal to the server's files.
//
// A reader coroutine parses requests (server_request_reader.cc: header/body limits, header and
// idle timeouts, 100-continue) and hands them through a one-slot channel to a processor
// coroutine that runs the handler or upgrade route and writes the response
// (server_response_writer.cc). The loop itself — TLS handshake, reader/processor hand-over,
// upgrades, draining — is in server_connection.cc. Created and spawned by
// HttpServer::Impl::accept_loop (server.cc).
//
// Invariants: at most one request is processed at a time (busy_); the reader keeps reading while
// a handler runs so a disconnect sets peer_gone() at once; after take_stream() (taken_) the
// connection never touches the stream again; the watchdogs close the socket when a read or write
// stops making progress.
//
// The member functions are defined in three .cc files, each instantiating them for TcpStream and
// TlsStream.
#pragma once

#include <boost/asio/experimental/channel.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "common/async.h"
#include "net/http/server.h"
#include "net/http/server_internal.h"

namespace wasimoff::http::detail {

using Clock = std::chrono::steady_clock;
using boost::system::error_code;

// Closes the connection's socket when a read or write stops making progress. Two of them run per
// connection (reads and writes have different rules).
class Watchdog {
 public:
  explicit Watchdog(asio::any_io_executor ex) : timer_(std::move(ex)) {}
  void arm(std::chrono::milliseconds d) { set(Clock::now() + d); }
  void disarm() { set(Clock::time_point::max()); }
  void stop() {
    stopped_ = true;
    timer_.cancel();
  }
  // Runs until stop(); calls `on_expire` once when the deadline passes.
  awaitable<void> run(std::function<void()> on_expire) {
    while (!stopped_) {
      timer_.expires_at(deadline_);
      error_code ec;
      co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (stopped_) co_return;
      if (Clock::now() >= deadline_) {
        on_expire();
        co_return;
      }
    }
  }

 private:
  void set(Clock::time_point t) {
    bool earlier = t < deadline_;
    deadline_ = t;
    if (earlier) timer_.cancel();  // re-arm for the earlier deadline
  }
  asio::steady_timer timer_;
  Clock::time_point deadline_ = Clock::time_point::max();
  bool stopped_ = false;
};

// What the reader hands to the processor: a parsed request or a parse failure to answer.
struct Incoming {
  std::unique_ptr<BeastRequest> request;
  unsigned error_status = 0;  // 400/413/431 with `error_text`, then close
  std::string error_text;
  Clock::time_point received;
};

using IncomingChannel = asio::experimental::channel<void(error_code, std::shared_ptr<Incoming>)>;

// A read error that only means the peer went away (or the socket was closed on purpose).
bool is_disconnect(const error_code& ec);

// Moves the body out of `raw` (uploads may be hundreds of MiB; a copy would double the peak
// memory of every large request). The headers stay in `raw` for WebSocket handshakes.
Request translate(BeastRequest& raw, const std::string& remote, bool tls);

template <typename Stream>
class Connection final : public ConnectionBase,
                         public std::enable_shared_from_this<Connection<Stream>> {
 public:
  Connection(std::shared_ptr<HttpServer::Impl> server, Stream stream, std::string remote,
             std::shared_ptr<void> address_slot)
      : server_(std::move(server)),
        stream_(std::move(stream)),
        remote_(std::move(remote)),
        address_slot_(std::move(address_slot)),
        ex_(server_->io.get_executor()),
        read_dog_(ex_),
        write_dog_(ex_),
        incoming_(ex_, 1),
        reader_resume_(ex_, Clock::time_point::max()),
        idle_signal_(ex_, Clock::time_point::max()) {
    self_it_ = server_->connections.insert(server_->connections.end(), this);
  }

  ~Connection() override { server_->connection_finished(self_it_); }

  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  // TLS handshake (when TLS), then reader and processor until the connection ends.
  awaitable<void> run();

  void drain() override {
    draining_ = true;
    if (!busy_) close_socket();
  }
  void force_close() override { close_socket(); }

 private:
  asio::ip::tcp::socket& socket() { return boost::beast::get_lowest_layer(*stream_).socket(); }

  // --- connection loop (server_connection.cc) ------------------------------------------------
  void close_socket();
  void finish();
  // Reads requests until the peer closes, an error occurs, or the connection is handed over.
  awaitable<void> reader();
  // Tells the processor that no request follows. Not incoming_.close(): Asio's channel drops a
  // buffered value on close(), which lost the last of several pipelined requests (e.g. the one
  // with `Connection: close`). A null item queued behind it ends the processor instead.
  awaitable<void> end_of_requests();
  // The processor is ending: the reader may be blocked handing over a request (the channel
  // holds one) or waiting for an upgrade decision; release it so the connection can finish.
  void release_reader();
  awaitable<void> wait_resume();
  void resume_reader(bool continue_reading);
  // Waits until no response is being produced (so an interim 100 Continue cannot interleave).
  awaitable<void> wait_idle();
  void set_busy(bool busy);
  awaitable<void> processor();
  // Handles one request and writes its response; false = close the connection.
  awaitable<bool> process(Incoming& item);
  // A request for an upgrade route: the handler takes the stream or answers; false = close.
  awaitable<bool> process_upgrade(Incoming& item, Request req);

  // --- request reading (server_request_reader.cc) --------------------------------------------
  // Parses one request into `item`. false without error_status = connection over.
  awaitable<bool> read_one(Incoming& item, bool& upgrade);
  // Arms the read watchdog for the next read of a request's header: the header deadline (when
  // bounded), the I/O timeout once bytes arrived, none while a handler runs, else the idle
  // keep-alive timeout.
  void arm_header_read(Clock::time_point header_deadline, bool started);
  // Turns a failed read into the error answer of `item` (431, 413, 400) or logs it.
  void classify_read_error(const error_code& ec, bool started, Incoming& item);
  static std::string path_of(std::string_view target) {
    return std::string(target.substr(0, target.find('?')));
  }

  // --- response writing (server_response_writer.cc) ------------------------------------------
  void observe(const std::string& method, unsigned status, Clock::time_point received);
  awaitable<void> write_raw(std::string_view bytes, error_code& ec);
  awaitable<void> write_response(Response& r, std::string_view method, bool keep_alive,
                                 unsigned version, error_code& ec);
  awaitable<void> write_chunks(const char* data, std::size_t size, error_code& ec);
  awaitable<void> write_body(const Body& body, error_code& ec);

  std::shared_ptr<HttpServer::Impl> server_;
  std::optional<Stream> stream_;
  std::string remote_;
  std::shared_ptr<void> address_slot_;  // handed to whoever takes the stream
  bool first_request_ = true;
  asio::any_io_executor ex_;
  Watchdog read_dog_;
  Watchdog write_dog_;
  boost::beast::flat_buffer buffer_;
  IncomingChannel incoming_;
  asio::steady_timer reader_resume_;
  asio::steady_timer idle_signal_;
  bool reader_waiting_ = false;
  bool resume_ = false;
  bool continue_after_upgrade_ = false;
  bool busy_ = false;
  bool draining_ = false;
  bool peer_closed_ = false;
  bool taken_ = false;
  RequestContext* current_ctx_ = nullptr;
  std::list<ConnectionBase*>::iterator self_it_;
};

}  // namespace wasimoff::http::detail
