#include "test_provider.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "common/async.h"
#include "common/strings.h"
#include "net/http/client.h"
#include "net/http/server.h"
#include "protocol/any_payload.h"
#include "protocol/codec.h"
#include "protocol/messenger.h"

namespace wasimoff::testing {

namespace beast = boost::beast;
namespace bws = boost::beast::websocket;
namespace bhttp = boost::beast::http;
using namespace asio::experimental::awaitable_operators;
using boost::system::error_code;
using protocol::Codec;
using protocol::Reply;

// ---------------------------------------------------------------------------------------------
// TaskAction

TaskAction TaskAction::echo(const v1::Task::Wasip1::Request& request) {
  std::string out;
  for (int i = 1; i < request.params().args_size(); ++i) {
    if (i > 1) out += ' ';
    out += request.params().args(i);
  }
  return ok(out + "\n");
}

TaskAction TaskAction::ok(std::string stdout_text, int status, std::string stderr_text) {
  TaskAction a;
  a.output.set_status(status);
  a.output.set_stdout(std::move(stdout_text));
  a.output.set_stderr(std::move(stderr_text));
  return a;
}

TaskAction TaskAction::app_error(std::string text) {
  TaskAction a;
  a.kind = Kind::kAppError;
  a.error = std::move(text);
  return a;
}

TaskAction TaskAction::envelope_error(std::string text) {
  TaskAction a;
  a.kind = Kind::kEnvelopeError;
  a.error = std::move(text);
  return a;
}

TaskAction TaskAction::disconnect() {
  TaskAction a;
  a.kind = Kind::kDisconnect;
  return a;
}

TaskAction TaskAction::no_answer() {
  TaskAction a;
  a.kind = Kind::kNoAnswer;
  return a;
}

TaskAction TaskAction::oversized(std::size_t bytes) {
  TaskAction a;
  a.kind = Kind::kOversized;
  a.oversize = bytes;
  return a;
}

TaskAction TaskAction::after(std::chrono::milliseconds d) const {
  TaskAction a = *this;
  a.delay = d;
  return a;
}

TaskAction TaskAction::held() const {
  TaskAction a = *this;
  a.hold = true;
  return a;
}

HandshakeRefused::HandshakeRefused(unsigned s, std::string b)
    : std::runtime_error(
          fmt::format("websocket upgrade refused: HTTP {} {}", s, std::string(trim(b)))),
      status(s),
      body(std::move(b)) {}

std::string tiny_wasm(const std::string& tag) {
  if (tag.size() > 100) throw std::invalid_argument("tiny_wasm: tag too long");
  std::string m("\0asm\x01\0\0\0", 8);
  m.push_back('\0');                               // custom section
  m.push_back(static_cast<char>(1 + tag.size()));  // section size
  m.push_back(static_cast<char>(tag.size()));      // name length
  m += tag;
  return m;
}

namespace {

// What the test thread reads; guarded by `mu`.
struct Recording {
  mutable std::mutex mu;
  std::string subprotocol;
  bool connected = false;
  std::optional<CloseFrame> close_frame;
  std::vector<ReceivedMessage> received;
  std::vector<v1::Task::Wasip1::Request> requests;
  std::vector<v1::Task::Pyodide::Request> pyodide_requests;
  std::vector<v1::Task::Cancel> cancels;
  std::vector<google::protobuf::Any> events;
  std::size_t cluster_infos = 0;
  std::size_t listing_requests = 0;
  std::size_t pings = 0;
  std::size_t running = 0;
  std::size_t max_running = 0;
  std::size_t answered = 0;
  std::size_t held = 0;
  std::size_t undecodable = 0;
  std::size_t violations = 0;
  TaskScript script;
};

// The WebSocket connection. Shared between the transport handed to the Messenger and the
// provider (raw sends, kill), so it stays alive while any coroutine uses it.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(bws::stream<beast::tcp_stream> ws, Codec codec, std::shared_ptr<Recording> rec)
      : ws_(std::move(ws)),
        codec_(codec),
        rec_(std::move(rec)),
        write_signal_(ws_.get_executor(), std::chrono::steady_clock::time_point::max()) {}

  Codec codec() const { return codec_; }
  asio::any_io_executor executor() { return ws_.get_executor(); }
  bool ended() const { return ended_; }
  std::string remote() const { return remote_; }
  void set_remote(std::string r) { remote_ = std::move(r); }
  std::string end_reason() const { return end_reason_; }

  // One write at a time (Messenger writer, raw sends and the close frame share the stream).
  awaitable<void> write(std::string bytes, bool text) {
    co_await lock();
    if (ended_) {
      unlock();
      throw boost::system::system_error(asio::error::not_connected,
                                        "test provider connection ended");
    }
    ws_.text(text);
    error_code ec;
    co_await ws_.async_write(asio::buffer(bytes), asio::redirect_error(asio::use_awaitable, ec));
    unlock();
    if (ec) throw boost::system::system_error(ec, "test provider write");
  }

  // Next decodable Envelope; records every message. nullopt when the connection ended.
  awaitable<std::optional<v1::Envelope>> read() {
    for (;;) {
      beast::flat_buffer buffer;
      error_code ec;
      co_await ws_.async_read(buffer, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        std::lock_guard lock(rec_->mu);
        // A close frame may arrive while our own write fails (the peer closes in the middle of
        // a large message); Beast still remembers it.
        auto r = ws_.reason();
        if (ec == bws::error::closed || r.code != bws::close_code::none) {
          rec_->close_frame =
              CloseFrame{static_cast<int>(r.code), std::string(r.reason.data(), r.reason.size())};
          end("peer closed");
        } else {
          end("connection lost: " + ec.message());
        }
        rec_->connected = false;
        co_return std::nullopt;
      }
      ReceivedMessage m;
      m.bytes = beast::buffers_to_string(buffer.data());
      m.text = ws_.got_text();
      m.decoded = protocol::decode(m.bytes, codec_, &m.envelope).empty();
      bool decoded = m.decoded;
      v1::Envelope env = m.envelope;
      {
        std::lock_guard lock(rec_->mu);
        if (!decoded) ++rec_->undecodable;
        rec_->received.push_back(std::move(m));
      }
      if (decoded) co_return env;
    }
  }

  // Sends a close frame (bounded wait for the peer's answer), then drops the socket.
  awaitable<void> close(int code, std::string reason) {
    if (close_started_ || ended_) co_return;
    close_started_ = true;
    co_await lock();
    if (!ended_) {
      error_code ec;
      bws::close_reason cr(static_cast<bws::close_code>(code), reason);
      co_await (ws_.async_close(cr, asio::redirect_error(asio::use_awaitable, ec)) ||
                sleep_for(std::chrono::seconds(2)));
      // Give the reader a moment to see the peer's close frame, then make sure the socket goes.
      co_await sleep_for(std::chrono::milliseconds(200));
    }
    unlock();
    kill();
  }

  // Drops the TCP connection without a close frame.
  void kill() {
    {
      std::lock_guard lock(rec_->mu);
      rec_->connected = false;
    }
    end("killed");
    error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
  }

 private:
  awaitable<void> lock() {
    while (writing_) {
      error_code ec;
      co_await write_signal_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    writing_ = true;
  }
  void unlock() {
    writing_ = false;
    write_signal_.cancel();  // wakes every waiter; the expiry stays at max
  }
  void end(std::string reason) {
    if (ended_) return;
    ended_ = true;
    end_reason_ = std::move(reason);
  }

  bws::stream<beast::tcp_stream> ws_;
  Codec codec_;
  std::shared_ptr<Recording> rec_;
  asio::steady_timer write_signal_;
  bool writing_ = false;
  bool ended_ = false;
  bool close_started_ = false;
  std::string remote_;
  std::string end_reason_;
};

class ConnectionTransport final : public protocol::Transport {
 public:
  explicit ConnectionTransport(std::shared_ptr<Connection> c) : c_(std::move(c)) {}
  ~ConnectionTransport() override { close(protocol::CloseCode::kNormal, "bye!"); }

  awaitable<void> send(const v1::Envelope& envelope) override {
    co_await c_->write(protocol::encode(envelope, c_->codec()), c_->codec() == Codec::kJson);
  }
  awaitable<std::optional<v1::Envelope>> receive() override { return c_->read(); }
  void close(protocol::CloseCode code, std::string reason) override {
    if (c_->ended()) return;
    spawn_logged(c_->executor(), hold(c_, c_->close(static_cast<int>(code), std::move(reason))),
                 "test provider close");
  }
  std::string remote_address() const override { return c_->remote(); }
  std::string_view kind() const override { return "websocket"; }
  std::string end_reason() const override { return c_->end_reason(); }

 private:
  std::shared_ptr<Connection> c_;
};

// One task while the provider runs it.
struct Slot {
  explicit Slot(asio::any_io_executor ex) : released(ex), cancelled(ex) {}
  OneShotEvent released;
  OneShotEvent cancelled;
  std::string cancel_reason;
};

}  // namespace

// Everything on the provider thread. Members touched by the test thread are in `rec` (locked);
// the rest is only used on the loop.
struct TestProvider::Impl : std::enable_shared_from_this<Impl> {
  explicit Impl(TestProviderOptions o)
      : options(std::move(o)), guard(io.get_executor()), stopping(io.get_executor()) {
    concurrency = options.concurrency;
    limit = options.concurrency;
    files = options.files;
    rec->script = options.script;
  }

  // Declared first so that it is destroyed last: every I/O object below belongs to it.
  asio::io_context io{1};
  TestProviderOptions options;
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  std::shared_ptr<Recording> rec = std::make_shared<Recording>();
  std::thread thread;
  std::promise<void> thread_done;

  // Loop-only state.
  OneShotEvent stopping;  // ends every waiting handler at shutdown
  std::shared_ptr<Connection> conn;
  std::shared_ptr<protocol::Messenger> messenger;
  std::uint32_t concurrency = 0;
  std::uint32_t limit = 0;  // concurrency the Broker is known to have seen (for violations)
  std::vector<std::string> files;
  std::deque<std::shared_ptr<Slot>> held;
  std::multimap<std::string, std::shared_ptr<Slot>> running;  // task id → slot

  // Runs `work` on the loop and waits for it (bounded).
  template <typename T>
  T run(awaitable<T> work, std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    auto future = asio::co_spawn(io, std::move(work), asio::use_future);
    if (future.wait_for(timeout) != std::future_status::ready)
      throw std::runtime_error("test provider: command did not finish in time");
    return future.get();
  }

  awaitable<void> connect() {
    auto ex = co_await asio::this_coro::executor;
    auto url = http::Url::parse(options.url);
    if (!url) throw std::runtime_error("test provider: invalid url " + options.url);
    std::string target = url->target;
    std::string query;
    if (options.name) query += "id=" + percent_encode(*options.name);
    if (options.token)
      query += std::string(query.empty() ? "" : "&") + "token=" + percent_encode(*options.token);
    if (!query.empty()) target += (target.find('?') == std::string::npos ? "?" : "&") + query;

    asio::ip::tcp::resolver resolver(ex);
    auto results =
        co_await resolver.async_resolve(url->host, std::to_string(url->port), asio::use_awaitable);
    beast::tcp_stream tcp(ex);
    tcp.expires_after(options.connect_timeout);
    error_code ec;
    auto ep = co_await tcp.async_connect(results, asio::redirect_error(asio::use_awaitable, ec));
    if (ec)
      throw std::runtime_error("test provider: cannot connect to " + url->origin() + ": " +
                               ec.message());
    tcp.expires_never();
    tcp.socket().set_option(asio::ip::tcp::no_delay(true), ec);

    bws::stream<beast::tcp_stream> ws(std::move(tcp));
    bws::stream_base::timeout t{};
    t.handshake_timeout = options.connect_timeout;
    t.idle_timeout = bws::stream_base::none();
    t.keep_alive_pings = false;
    ws.set_option(t);
    ws.read_message_max(1ull << 30);
    std::string offered;
    for (const auto& p : options.subprotocols) offered += (offered.empty() ? "" : ", ") + p;
    ws.set_option(bws::stream_base::decorator([o = options, offered](bws::request_type& req) {
      if (!offered.empty()) req.set(bhttp::field::sec_websocket_protocol, offered);
      if (o.user_agent)
        req.set(bhttp::field::user_agent, *o.user_agent);
      else
        req.erase(bhttp::field::user_agent);
      if (o.origin) req.set(bhttp::field::origin, *o.origin);
      if (o.bearer) req.set(bhttp::field::authorization, "Bearer " + *o.bearer);
      for (const auto& [name, value] : o.headers) req.set(name, value);
    }));
    bws::response_type res;
    co_await ws.async_handshake(res, url->authority(), target,
                                asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (res.result_int() != 0 && res.result_int() != 101)
        throw HandshakeRefused(res.result_int(), res.body());
      throw std::runtime_error("test provider: websocket handshake failed: " + ec.message());
    }
    std::string proto(res[bhttp::field::sec_websocket_protocol]);
    Codec codec = proto == "wasimoff_provider_v1_json" ? Codec::kJson : Codec::kBinary;
    conn = std::make_shared<Connection>(std::move(ws), codec, rec);
    conn->set_remote(http::format_endpoint(ep));
    {
      std::lock_guard lock(rec->mu);
      rec->subprotocol = proto;
      rec->connected = true;
    }

    protocol::Messenger::Options mo;
    mo.name = "test provider " + options.name.value_or("(unnamed)");
    mo.disconnect_error = "broker disconnected";
    messenger =
        std::make_shared<protocol::Messenger>(ex, std::make_unique<ConnectionTransport>(conn), mo);
    install_handlers();
    messenger->start();
    if (options.announce_resources) announce(0);
    if (options.capabilities) messenger->send_event(*options.capabilities);
  }

  void announce(std::size_t busy) {
    v1::Event::ProviderResources r;
    r.set_concurrency(concurrency);
    r.set_tasks(static_cast<std::uint32_t>(busy));
    messenger->send_event(r);
  }

  void install_handlers() {
    messenger->on_event([this](const google::protobuf::Message& m) {
      std::lock_guard lock(rec->mu);
      rec->events.push_back(protocol::make_any(m));
      if (m.GetDescriptor() == v1::Event::ClusterInfo::descriptor()) ++rec->cluster_infos;
    });
    messenger->serve<v1::Filesystem::Listing::Request>(
        [this](v1::Filesystem::Listing::Request&) -> awaitable<Reply> {
          {
            std::lock_guard lock(rec->mu);
            ++rec->listing_requests;
          }
          if (!options.answer_listing) {
            co_await stopping.wait();
            co_return Reply::fail("test provider stopping");
          }
          v1::Filesystem::Listing::Response r;
          for (const auto& f : files) r.add_files(f);
          co_return Reply::with(std::move(r));
        });
    messenger->serve<v1::Ping>([this](v1::Ping&) -> awaitable<Reply> {
      {
        std::lock_guard lock(rec->mu);
        ++rec->pings;
      }
      if (!options.answer_pings) {
        co_await stopping.wait();
        co_return Reply::fail("test provider stopping");
      }
      if (!options.ping_error.empty()) co_return Reply::fail(options.ping_error);
      co_return Reply::with(v1::Ping());
    });
    messenger->serve<v1::Task::Cancel>([this](v1::Task::Cancel& cancel) -> awaitable<Reply> {
      {
        std::lock_guard lock(rec->mu);
        rec->cancels.push_back(cancel);
      }
      auto [begin, end] = running.equal_range(cancel.id());
      for (auto it = begin; it != end; ++it) {
        it->second->cancel_reason = cancel.reason();
        it->second->cancelled.set();
      }
      if (!options.answer_cancels) {
        co_await stopping.wait();
        co_return Reply::fail("test provider stopping");
      }
      co_return Reply::with(v1::Task::Cancel(cancel));
    });
    messenger->serve<v1::Task::Wasip1::Request>(
        [this](v1::Task::Wasip1::Request& request) -> awaitable<Reply> {
          co_return co_await run_task(request);
        });
    messenger->serve<v1::Task::Pyodide::Request>(
        [this](v1::Task::Pyodide::Request& request) -> awaitable<Reply> {
          {
            std::lock_guard lock(rec->mu);
            rec->pyodide_requests.push_back(request);
          }
          if (!options.supports_pyodide) co_return Reply::fail("not implemented");
          {
            std::lock_guard lock(rec->mu);
            ++rec->answered;
          }
          v1::Task::Pyodide::Response r;
          *r.mutable_info() = request.info();
          r.mutable_ok()->set_stdout(request.params().script());
          r.mutable_ok()->set_version("test");
          co_return Reply::with(std::move(r));
        });
  }

  void busy_changed(std::ptrdiff_t delta) {
    std::size_t now;
    {
      std::lock_guard lock(rec->mu);
      if (delta > 0) {
        // The Broker may send a task only while fewer than `limit` are active (docs/scheduling.md
        // §1).
        if (rec->running >= limit) ++rec->violations;
        rec->running += static_cast<std::size_t>(delta);
      } else {
        rec->running -= static_cast<std::size_t>(-delta);
      }
      rec->max_running = std::max(rec->max_running, rec->running);
      now = rec->running;
    }
    if (options.announce_busy && !messenger->is_closed()) announce(now);
  }

  awaitable<Reply> run_task(v1::Task::Wasip1::Request& request) {
    TaskScript script;
    {
      std::lock_guard lock(rec->mu);
      rec->requests.push_back(request);
      script = rec->script;
    }
    auto slot = std::make_shared<Slot>(io.get_executor());
    auto entry = running.emplace(request.info().id(), slot);
    busy_changed(+1);
    TaskAction action = script ? script(request) : TaskAction::echo(request);
    if (action.hold) {
      held.push_back(slot);
      {
        std::lock_guard lock(rec->mu);
        rec->held = held.size();
      }
      co_await (slot->released.wait() || slot->cancelled.wait() || stopping.wait());
      std::erase(held, slot);
      std::lock_guard lock(rec->mu);
      rec->held = held.size();
    }
    if (action.delay.count() > 0 && !slot->cancelled.is_set() && !stopping.is_set())
      co_await (sleep_for(action.delay) || slot->cancelled.wait() || stopping.wait());

    Reply reply;
    v1::Task::Wasip1::Response response;
    *response.mutable_info() = request.info();
    bool answer = true;
    if (stopping.is_set()) {
      reply = Reply::fail("test provider stopping");
    } else if (action.kind == TaskAction::Kind::kNoAnswer) {
      co_await stopping.wait();
      reply = Reply::fail("test provider stopping");
      answer = false;
    } else if (slot->cancelled.is_set()) {
      response.set_error("task canceled: " + slot->cancel_reason);
      reply = Reply::with(std::move(response));
    } else {
      switch (action.kind) {
        case TaskAction::Kind::kOk:
          *response.mutable_ok() = action.output;
          reply = Reply::with(std::move(response));
          break;
        case TaskAction::Kind::kAppError:
          response.set_error(action.error);
          reply = Reply::with(std::move(response));
          break;
        case TaskAction::Kind::kEnvelopeError:
          reply = Reply::fail(action.error);
          break;
        case TaskAction::Kind::kOversized: {
          // The Broker closes the connection on the frame header (1009); the write may fail
          // half-way, which is the point.
          bool text = conn->codec() == Codec::kJson;
          try {
            co_await conn->write(std::string(action.oversize, text ? 'x' : '\xff'), text);
          } catch (const std::exception&) {
          }
          reply = Reply::fail("test provider sent an oversized message");
          answer = false;
          break;
        }
        default:  // kDisconnect
          conn->kill();
          reply = Reply::fail("test provider killed");
          answer = false;
          break;
      }
    }
    running.erase(entry);
    if (answer) {
      std::lock_guard lock(rec->mu);
      ++rec->answered;
    }
    busy_changed(-1);
    co_return reply;
  }

  awaitable<void> set_concurrency(std::uint32_t c) {
    bool lowering = c < limit;
    concurrency = c;
    if (!lowering) limit = c;
    {
      std::lock_guard lock(rec->mu);
      announce(rec->running);
    }
    if (!lowering) co_return;
    // The Broker handles Events before the Requests that follow them on the connection, and
    // sends its answer after any task it dispatched earlier: once the Ping is answered, every
    // later task was dispatched knowing the lower capacity.
    co_await messenger->call(v1::Ping(), std::chrono::seconds(10));
    limit = c;
  }

  // Commands, run on the loop by value (they may outlive a caller that timed out).
  awaitable<void> update_files(std::vector<std::string> refs, bool add) {
    v1::Event::FileSystemUpdate u;
    for (const auto& r : refs) {
      if (add) {
        u.add_added(r);
        if (std::find(files.begin(), files.end(), r) == files.end()) files.push_back(r);
      } else {
        u.add_removed(r);
        std::erase(files, r);
      }
    }
    messenger->send_event(u);
    co_return;
  }
  awaitable<void> send_event(std::shared_ptr<google::protobuf::Message> m) {
    messenger->send_event(*m);
    co_return;
  }
  awaitable<void> send_raw(std::string bytes, bool text) {
    co_await conn->write(std::move(bytes), text);
  }
  awaitable<void> release(std::size_t n) {
    std::size_t released = 0;
    for (auto& s : held) {
      if (released == n) break;
      if (s->released.is_set()) continue;
      s->released.set();
      ++released;
    }
    co_return;
  }
  awaitable<void> close(int code, std::string reason) {
    messenger->close(static_cast<protocol::CloseCode>(code), std::move(reason));
    co_return;
  }
  awaitable<void> kill() {
    conn->kill();
    co_return;
  }

  void stop() {
    if (!thread.joinable()) return;
    asio::post(io, [this] {
      stopping.set();
      for (auto& s : held) s->released.set();
      if (messenger) messenger->close(protocol::CloseCode::kNormal, "bye!");
    });
    guard.reset();
    auto done = thread_done.get_future();
    if (done.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      spdlog::warn("test provider {}: loop did not drain, stopping it", options.name.value_or(""));
      io.stop();
    }
    thread.join();
  }
};

TestProvider::TestProvider(TestProviderOptions options)
    : impl_(std::make_shared<Impl>(std::move(options))) {
  auto& d = *impl_;
  auto connected = asio::co_spawn(d.io, d.connect(), asio::use_future);
  d.thread = std::thread([&d] {
    try {
      d.io.run();
    } catch (const std::exception& e) {
      spdlog::error("test provider loop: {}", e.what());
    }
    d.thread_done.set_value();
  });
  try {
    if (connected.wait_for(d.options.connect_timeout + std::chrono::seconds(5)) !=
        std::future_status::ready)
      throw std::runtime_error("test provider: connect did not finish");
    connected.get();
  } catch (...) {
    d.stop();
    throw;
  }
}

TestProvider::~TestProvider() {
  impl_->stop();
}

const std::string& TestProvider::name() const {
  static const std::string unnamed = "anonymous";
  return impl_->options.name ? *impl_->options.name : unnamed;
}

std::string TestProvider::subprotocol() const {
  std::lock_guard lock(impl_->rec->mu);
  return impl_->rec->subprotocol;
}

bool TestProvider::wait_for(const std::function<bool()>& condition,
                            std::chrono::milliseconds timeout) const {
  auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool TestProvider::wait_registered(std::chrono::milliseconds timeout) const {
  return wait_for(
      [this] {
        std::lock_guard lock(impl_->rec->mu);
        return impl_->rec->cluster_infos > 0;
      },
      timeout);
}

bool TestProvider::wait_disconnected(std::chrono::milliseconds timeout) const {
  return wait_for([this] { return !connected(); }, timeout);
}

bool TestProvider::wait_running(std::size_t n, std::chrono::milliseconds timeout) const {
  return wait_for([this, n] { return running() >= n; }, timeout);
}

void TestProvider::set_script(TaskScript script) {
  std::lock_guard lock(impl_->rec->mu);
  impl_->rec->script = std::move(script);
}

void TestProvider::set_concurrency(std::uint32_t concurrency) {
  impl_->run(impl_->set_concurrency(concurrency));
}

void TestProvider::add_files(const std::vector<std::string>& refs) {
  impl_->run(impl_->update_files(refs, true));
}

void TestProvider::remove_files(const std::vector<std::string>& refs) {
  impl_->run(impl_->update_files(refs, false));
}

void TestProvider::send_event(const google::protobuf::Message& event) {
  std::shared_ptr<google::protobuf::Message> copy(event.New());
  copy->CopyFrom(event);
  impl_->run(impl_->send_event(std::move(copy)));
}

void TestProvider::send_raw(std::string bytes, bool text) {
  impl_->run(impl_->send_raw(std::move(bytes), text));
}

void TestProvider::release_tasks(std::size_t n) {
  impl_->run(impl_->release(n));
}

void TestProvider::close(int code, std::string reason) {
  impl_->run(impl_->close(code, std::move(reason)));
}

void TestProvider::kill() {
  impl_->run(impl_->kill());
}

#define WASIMOFF_RECORDED(type, name, field) \
  type TestProvider::name() const {          \
    std::lock_guard lock(impl_->rec->mu);    \
    return impl_->rec->field;                \
  }

WASIMOFF_RECORDED(bool, connected, connected)
WASIMOFF_RECORDED(std::optional<CloseFrame>, close_frame, close_frame)
WASIMOFF_RECORDED(std::vector<ReceivedMessage>, received, received)
WASIMOFF_RECORDED(std::vector<v1::Task::Wasip1::Request>, requests, requests)
WASIMOFF_RECORDED(std::vector<v1::Task::Pyodide::Request>, pyodide_requests, pyodide_requests)
WASIMOFF_RECORDED(std::vector<v1::Task::Cancel>, cancels, cancels)
WASIMOFF_RECORDED(std::vector<google::protobuf::Any>, events, events)
WASIMOFF_RECORDED(std::size_t, listing_requests, listing_requests)
WASIMOFF_RECORDED(std::size_t, pings, pings)
WASIMOFF_RECORDED(std::size_t, running, running)
WASIMOFF_RECORDED(std::size_t, max_running, max_running)
WASIMOFF_RECORDED(std::size_t, answered, answered)
WASIMOFF_RECORDED(std::size_t, held, held)
WASIMOFF_RECORDED(std::size_t, undecodable, undecodable)
WASIMOFF_RECORDED(std::size_t, violations, violations)

#undef WASIMOFF_RECORDED

}  // namespace wasimoff::testing
