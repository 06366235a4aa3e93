#include "net/http/server.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <list>
#include <map>
#include <unordered_map>

#include "common/strings.h"

namespace wasimoff::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

std::string format_endpoint(const tcp::endpoint& ep) {
  auto addr = ep.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped())
    addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
  if (addr.is_v6()) return "[" + addr.to_string() + "]:" + std::to_string(ep.port());
  return addr.to_string() + ":" + std::to_string(ep.port());
}

namespace {

// The client address without port; IPv4-mapped IPv6 addresses as IPv4.
std::string address_text(asio::ip::address addr) {
  if (addr.is_v6() && addr.to_v6().is_v4_mapped())
    addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
  return addr.to_string();
}

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

bool is_disconnect(const error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor ||
         ec == asio::ssl::error::stream_truncated;
}

// Moves the body out of `raw` (uploads may be hundreds of MiB; a copy would double the peak
// memory of every large request). The headers stay in `raw` for WebSocket handshakes.
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

}  // namespace

class ConnectionBase {
 public:
  virtual ~ConnectionBase() = default;
  // Graceful: close now when idle, otherwise after the in-flight response.
  virtual void drain() = 0;
  virtual void force_close() = 0;
};

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(asio::io_context& io, const Router& router, ServerOptions options)
      : io(io), router(router), options(std::move(options)), all_closed(io.get_executor()) {}

  asio::io_context& io;
  const Router& router;
  ServerOptions options;
  std::map<std::string, UpgradeHandler> upgrades;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::list<ConnectionBase*> connections;
  std::unordered_map<std::string, std::size_t> per_address;  // open connections by client IP
  bool draining = false;
  OneShotEvent all_closed;
  // Refusals are logged at most every 10 s (a flood must not flood the log).
  Clock::time_point next_refusal_log{};
  std::size_t refusals_unlogged = 0;

  // Counts one connection of `address` for as long as the returned slot lives.
  std::shared_ptr<void> take_address_slot(const std::string& address) {
    ++per_address[address];
    std::weak_ptr<Impl> weak = weak_from_this();
    return std::shared_ptr<void>(nullptr, [weak, address](void*) {
      if (auto self = weak.lock()) {
        if (auto it = self->per_address.find(address);
            it != self->per_address.end() && --it->second == 0)
          self->per_address.erase(it);
      }
    });
  }
  void log_refusal(const std::string& what) {
    ++refusals_unlogged;
    auto now = Clock::now();
    if (now < next_refusal_log) return;
    spdlog::warn("{}: {} ({} refused since the last such message)", options.name, what,
                 refusals_unlogged);
    refusals_unlogged = 0;
    next_refusal_log = now + std::chrono::seconds(10);
  }

  awaitable<void> accept_loop(tcp::acceptor& acceptor);
  void connection_finished(std::list<ConnectionBase*>::iterator it) {
    connections.erase(it);
    if (draining && connections.empty()) all_closed.set();
  }
};

namespace {

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

  awaitable<void> run() {
    // The watchdog coroutines keep the connection alive (their timers live in it); finish()
    // stops them when the connection ends.
    auto self = this->shared_from_this();
    spawn_logged(ex_, hold(self, read_dog_.run([this] { close_socket(); })), "http read watchdog");
    spawn_logged(ex_, hold(self, write_dog_.run([this] { close_socket(); })),
                 "http write watchdog");
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

  void drain() override {
    draining_ = true;
    if (!busy_) close_socket();
  }
  void force_close() override { close_socket(); }

 private:
  tcp::socket& socket() { return beast::get_lowest_layer(*stream_).socket(); }

  void close_socket() {
    if (!stream_ || taken_) return;
    error_code ec;
    socket().shutdown(tcp::socket::shutdown_both, ec);
    socket().close(ec);
  }

  void finish() {
    read_dog_.stop();
    write_dog_.stop();
    close_socket();
    if (current_ctx_) current_ctx_->peer_gone().set();
  }

  // Reads requests until the peer closes, an error occurs, or the connection is handed over.
  awaitable<void> reader() {
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

  // Tells the processor that no request follows. Not incoming_.close(): Asio's channel drops a
  // buffered value on close(), which lost the last of several pipelined requests (e.g. the one
  // with `Connection: close`). A null item queued behind it ends the processor instead.
  awaitable<void> end_of_requests() {
    error_code ec;
    co_await incoming_.async_send(error_code{}, nullptr,
                                  asio::redirect_error(asio::use_awaitable, ec));
  }

  // The processor is ending: the reader may be blocked handing over a request (the channel
  // holds one) or waiting for an upgrade decision; release it so the connection can finish.
  void release_reader() {
    incoming_.cancel();  // pending async_send completes with an error
    incoming_.close();
    resume_reader(false);
  }

  awaitable<void> wait_resume() {
    while (!resume_) {
      error_code ec;
      co_await reader_resume_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    resume_ = false;
  }
  void resume_reader(bool continue_reading) {
    continue_after_upgrade_ = continue_reading;
    resume_ = true;
    reader_resume_.cancel();
  }

  // Parses one request into `item`. false without error_status = connection over.
  awaitable<bool> read_one(Incoming& item, bool& upgrade) {
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
    // Idle keep-alive timeout only applies while nothing is in flight; a running task keeps the
    // connection open indefinitely.
    auto arm_read = [&] {
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
    };
    while (!parser.is_header_done()) {
      arm_read();
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
      co_return false;
    }
    item.request = std::make_unique<BeastRequest>(parser.release());
    item.received = Clock::now();
    upgrade = server_->upgrades.count(path_of(item.request->target())) > 0;
    co_return true;
  }

  static std::string path_of(std::string_view target) {
    return std::string(target.substr(0, target.find('?')));
  }

  // Waits until no response is being produced (so an interim 100 Continue cannot interleave).
  awaitable<void> wait_idle() {
    while (busy_ && !peer_closed_) {
      error_code ec;
      co_await idle_signal_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  void set_busy(bool busy) {
    busy_ = busy;
    if (busy) return;
    idle_signal_.cancel();
    // The reader may be waiting for the next request with its watchdog disarmed (it was waiting
    // behind a running handler): the idle keep-alive timeout applies from now on.
    if (reader_waiting_) read_dog_.arm(server_->options.idle_timeout);
  }

  awaitable<void> processor() {
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

  // Handles one request and writes its response; false = close the connection.
  awaitable<bool> process(Incoming& item) {
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
    Response response;
    auto up = server_->upgrades.find(req.path);
    if (up != server_->upgrades.end()) {
      UpgradeContext uctx{std::move(raw), std::move(req), {}, address_slot_};
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
      bool keep = uctx.raw.keep_alive() && !draining_;
      error_code ec;
      co_await write_response(*answer, uctx.request.method, keep, uctx.raw.version(), ec);
      observe(uctx.request.method, answer->status, item.received);
      resume_reader(keep && !ec);
      co_return keep && !ec;
    }
    response = co_await server_->router.dispatch(req, ctx);
    current_ctx_ = nullptr;
    if (peer_closed_) co_return false;  // nobody to answer
    bool keep = raw.keep_alive() && !draining_;
    error_code ec;
    co_await write_response(response, req.method, keep, raw.version(), ec);
    observe(req.method, response.status, item.received);
    co_return keep && !ec;
  }

  void observe(const std::string& method, unsigned status, Clock::time_point received) {
    if (server_->options.observe)
      server_->options.observe(method, status,
                               std::chrono::duration<double>(Clock::now() - received).count());
  }

  awaitable<void> write_raw(std::string_view bytes, error_code& ec) {
    write_dog_.arm(server_->options.io_timeout);
    co_await asio::async_write(*stream_, asio::buffer(bytes.data(), bytes.size()),
                               asio::redirect_error(asio::use_awaitable, ec));
    write_dog_.disarm();
  }

  awaitable<void> write_response(Response& r, std::string_view method, bool keep_alive,
                                 unsigned version, error_code& ec) {
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

  awaitable<void> write_chunks(const char* data, std::size_t size, error_code& ec) {
    constexpr std::size_t kChunk = 1 << 20;
    for (std::size_t off = 0; off < size && !ec; off += kChunk) {
      write_dog_.arm(server_->options.io_timeout);
      co_await asio::async_write(*stream_, asio::buffer(data + off, std::min(kChunk, size - off)),
                                 asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  awaitable<void> write_body(const Body& body, error_code& ec) {
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
        co_await asio::async_write(*stream_,
                                   asio::buffer(chunk.data(), static_cast<std::size_t>(n)),
                                   asio::redirect_error(asio::use_awaitable, ec));
        off += static_cast<std::uint64_t>(n);
        left -= static_cast<std::uint64_t>(n);
      }
      ::close(fd);
    }
  }

  std::shared_ptr<HttpServer::Impl> server_;
  std::optional<Stream> stream_;
  std::string remote_;
  std::shared_ptr<void> address_slot_;  // handed to whoever takes the stream
  bool first_request_ = true;
  asio::any_io_executor ex_;
  Watchdog read_dog_;
  Watchdog write_dog_;
  beast::flat_buffer buffer_;
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

}  // namespace

awaitable<void> HttpServer::Impl::accept_loop(tcp::acceptor& acceptor) {
  auto self = shared_from_this();
  for (;;) {
    error_code ec;
    tcp::socket socket =
        co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      // EMFILE and friends: back off briefly instead of spinning.
      spdlog::warn("{}: accept failed: {}", options.name, ec.message());
      co_await sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    if (draining) continue;  // socket closes when it goes out of scope
    const auto peer = socket.remote_endpoint(ec);
    if (ec) continue;  // already gone
    const std::string address = address_text(peer.address());
    if (connections.size() >= options.max_connections) {
      log_refusal("connection limit (" + std::to_string(options.max_connections) +
                  ") reached, refusing connections");
      continue;
    }
    if (options.max_connections_per_ip > 0) {
      auto it = per_address.find(address);
      if (it != per_address.end() && it->second >= options.max_connections_per_ip) {
        log_refusal("refusing new connections from " + address + ": it holds " +
                    std::to_string(it->second) + ", the per-address limit");
        continue;
      }
    }
    socket.set_option(tcp::no_delay(true), ec);
    std::string remote = format_endpoint(peer);
    auto slot = take_address_slot(address);
    if (options.tls_context) {
      auto ctx = options.tls_context();
      auto conn = std::make_shared<Connection<TlsStream>>(
          self, TlsStream(TcpStream(std::move(socket)), *ctx), remote, std::move(slot));
      // The SSL context must outlive the stream: the coroutine frame keeps both.
      spawn_logged(io.get_executor(), hold(ctx, hold(conn, conn->run())), "https connection");
    } else {
      auto conn = std::make_shared<Connection<TcpStream>>(self, TcpStream(std::move(socket)),
                                                          remote, std::move(slot));
      spawn_logged(io.get_executor(), hold(conn, conn->run()), "http connection");
    }
  }
}

HttpServer::HttpServer(asio::io_context& io, const Router& router, ServerOptions options)
    : impl_(std::make_shared<Impl>(io, router, std::move(options))) {}

HttpServer::~HttpServer() {
  for (auto& a : impl_->acceptors) {
    error_code ec;
    a->close(ec);
  }
}

void HttpServer::add_upgrade_route(std::string path, UpgradeHandler handler) {
  impl_->upgrades[std::move(path)] = std::move(handler);
}

void HttpServer::start() {
  auto& opt = impl_->options;
  std::vector<tcp::endpoint> endpoints;
  if (opt.host.empty()) {
    endpoints.emplace_back(tcp::v6(), opt.port);
  } else {
    error_code ec;
    auto addr = asio::ip::make_address(opt.host, ec);
    if (!ec) {
      endpoints.emplace_back(addr, opt.port);
    } else {
      tcp::resolver resolver(impl_->io);
      auto results = resolver.resolve(opt.host, std::to_string(opt.port), ec);
      if (ec)
        throw std::runtime_error("cannot listen on " + opt.name + " " + opt.host + ":" +
                                 std::to_string(opt.port) + ": " + ec.message());
      for (const auto& r : results)
        if (std::find(endpoints.begin(), endpoints.end(), r.endpoint()) == endpoints.end())
          endpoints.push_back(r.endpoint());
    }
  }
  for (const auto& ep : endpoints) {
    auto acceptor = std::make_unique<tcp::acceptor>(impl_->io);
    error_code ec;
    auto listen_on = [&](const tcp::endpoint& e) {
      acceptor->open(e.protocol(), ec);
      if (ec) return;
      acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
      if (e.address().is_v6() && opt.host.empty())
        acceptor->set_option(asio::ip::v6_only(false), ec);
      acceptor->bind(e, ec);
      if (ec) return;
      acceptor->listen(asio::socket_base::max_listen_connections, ec);
    };
    listen_on(ep);
    if (ec && opt.host.empty() &&
        (ec == asio::error::address_family_not_supported ||
         ec == boost::system::errc::address_not_available)) {
      // No IPv6 on this machine: fall back to IPv4 only.
      acceptor = std::make_unique<tcp::acceptor>(impl_->io);
      ec.clear();
      listen_on(tcp::endpoint(tcp::v4(), opt.port));
    }
    if (ec)
      throw std::runtime_error("cannot listen on " + opt.name + " " + format_endpoint(ep) + ": " +
                               ec.message());
    impl_->acceptors.push_back(std::move(acceptor));
  }
  for (auto& a : impl_->acceptors) {
    spawn_logged(impl_->io.get_executor(), impl_->accept_loop(*a), "http accept loop");
  }
}

std::vector<tcp::endpoint> HttpServer::local_endpoints() const {
  std::vector<tcp::endpoint> out;
  for (const auto& a : impl_->acceptors) {
    error_code ec;
    auto ep = a->local_endpoint(ec);
    if (!ec) out.push_back(ep);
  }
  return out;
}

std::size_t HttpServer::connection_count() const {
  return impl_->connections.size();
}

awaitable<void> HttpServer::shutdown(std::chrono::milliseconds grace) {
  impl_->draining = true;
  for (auto& a : impl_->acceptors) {
    error_code ec;
    a->close(ec);
  }
  if (impl_->connections.empty()) co_return;
  // drain() may destroy nothing synchronously (connections end on their own coroutines), so
  // iterating over a copy is safe.
  auto copy = impl_->connections;
  for (auto* c : copy) c->drain();
  co_await (impl_->all_closed.wait() || sleep_for(grace));
  if (!impl_->connections.empty()) {
    auto rest = impl_->connections;
    for (auto* c : rest) c->force_close();
    co_await (impl_->all_closed.wait() || sleep_for(std::chrono::seconds(1)));
  }
}

}  // namespace wasimoff::http
