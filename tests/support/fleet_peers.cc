#include "fleet_peers.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "common/async.h"
#include "net/websocket/websocket_transport.h"
#include "net/webtransport/client.h"
#include "protocol/messenger.h"

namespace wasimoff::testing {

using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

struct Fleet::Impl : std::enable_shared_from_this<Fleet::Impl> {
  explicit Impl(FleetOptions o) : options(std::move(o)), work(io.get_executor()) {}

  struct Peer {
    std::unique_ptr<PeerStats> stats = std::make_unique<PeerStats>();
    std::weak_ptr<protocol::Messenger> messenger;  // io thread only
  };

  FleetOptions options;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::thread thread;
  mutable std::mutex mutex;                  // guards `peers` (the vector, not the stats)
  std::vector<std::unique_ptr<Peer>> peers;  // stable addresses
  std::atomic<bool> stopping{false};

  static std::int64_t ms_since(Clock::time_point t0) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  }

  awaitable<void> run_peer(Peer* peer, std::size_t index) {
    auto ex = co_await asio::this_coro::executor;
    PeerStats& st = *peer->stats;
    const auto t0 = Clock::now();
    const std::string name = options.name_prefix + "-" + std::to_string(index);
    std::unique_ptr<protocol::Transport> transport;
    try {
      if (options.wt_url.empty()) {
        websocket::ConnectOptions co;
        co.connect_timeout = options.connect_timeout;
        co.transport.handshake_timeout = options.connect_timeout;
        transport = co_await websocket::connect(ex, options.ws_url + "?id=" + name, co);
      } else {
        webtransport::ClientOptions wo;
        wo.url = options.wt_url + "?id=" + name;
        wo.certhash = options.certhash;
        wo.timeout = options.connect_timeout;
        transport = co_await webtransport::connect(ex, wo);
      }
    } catch (const std::exception& e) {
      std::lock_guard lock(st.mutex);
      st.connect_error = std::string("connect failed: ") + e.what();
    }
    if (!transport) {
      st.closed_ms = ms_since(t0);
      st.closed = true;
      co_return;
    }
    st.connected_ms = ms_since(t0);
    st.connected = true;
    protocol::Messenger::Options mo;
    mo.name = name;
    auto m = std::make_shared<protocol::Messenger>(ex, std::move(transport), mo);
    peer->messenger = m;
    m->on_event([&st, t0](const google::protobuf::Message& e) {
      if (auto* c = dynamic_cast<const v1::Event::ClusterInfo*>(&e)) {
        ++st.cluster_infos;
        st.last_cluster_count = c->providers();
        if (!st.registered) {
          st.registered_ms = ms_since(t0);
          st.registered = true;
        }
      } else if (dynamic_cast<const v1::Event::Throughput*>(&e)) {
        ++st.throughputs;
      }
    });
    using protocol::Reply;
    m->serve<v1::Filesystem::Listing::Request>(
        [](v1::Filesystem::Listing::Request&) -> awaitable<Reply> {
          co_return Reply::with(v1::Filesystem::Listing::Response());
        });
    m->serve<v1::Ping>([&st](v1::Ping&) -> awaitable<Reply> {
      ++st.pings;
      co_return Reply::with(v1::Ping());
    });
    std::weak_ptr<protocol::Messenger> weak = m;
    const bool hold = options.hold_tasks;
    m->serve<v1::Task::Wasip1::Request>(
        [&st, weak, hold](v1::Task::Wasip1::Request& req) -> awaitable<Reply> {
          ++st.tasks;
          if (hold) {
            // Never answers; ends with the connection.
            if (auto keep = weak.lock()) co_await keep->closed().wait();
            co_return Reply::fail("provider disconnected");
          }
          v1::Task::Wasip1::Response r;
          *r.mutable_info() = req.info();
          std::string out;
          for (int i = 1; i < req.params().args_size(); ++i)
            out += (i > 1 ? " " : "") + req.params().args(i);
          r.mutable_ok()->set_status(0);
          r.mutable_ok()->set_stdout(out + "\n");
          co_return Reply::with(std::move(r));
        });
    m->start();
    v1::Event::ProviderResources res;
    res.set_concurrency(options.concurrency);
    res.set_tasks(0);
    m->send_event(res);
    co_await m->closed().wait();
    {
      std::lock_guard lock(st.mutex);
      st.close_reason = m->close_reason();
    }
    st.closed_ms = ms_since(t0);
    st.closed = true;
    // Let the transport finish its closing handshake before the frame goes.
    co_await (m->reader_finished().wait() || sleep_for(std::chrono::seconds(2)));
  }
};

Fleet::Fleet(FleetOptions options) : impl_(std::make_shared<Impl>(std::move(options))) {
  impl_->thread = std::thread([impl = impl_] { impl->io.run(); });
}

Fleet::~Fleet() {
  {
    std::lock_guard lock(impl_->mutex);
    asio::post(impl_->io, [impl = impl_] {
      for (auto& p : impl->peers)
        if (auto m = p->messenger.lock()) m->close(protocol::CloseCode::kNormal, "bye!");
    });
  }
  impl_->work.reset();
  // Bounded: peers end once their transports are closed; stop the loop if that takes too long.
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline && count_closed() < size())
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  impl_->io.stop();
  impl_->thread.join();
}

std::size_t Fleet::add(std::size_t n) {
  std::lock_guard lock(impl_->mutex);
  std::size_t first = impl_->peers.size();
  for (std::size_t i = 0; i < n; ++i) {
    impl_->peers.push_back(std::make_unique<Impl::Peer>());
    Impl::Peer* peer = impl_->peers.back().get();
    asio::co_spawn(impl_->io, hold(impl_, impl_->run_peer(peer, first + i)), asio::detached);
  }
  return first;
}

void Fleet::leave(std::size_t i) {
  std::lock_guard lock(impl_->mutex);
  Impl::Peer* peer = impl_->peers.at(i).get();
  asio::post(impl_->io, [peer, impl = impl_] {
    if (auto m = peer->messenger.lock()) m->close(protocol::CloseCode::kNormal, "bye!");
  });
}

std::size_t Fleet::size() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->peers.size();
}

const PeerStats& Fleet::stats(std::size_t i) const {
  std::lock_guard lock(impl_->mutex);
  return *impl_->peers.at(i)->stats;
}

std::size_t Fleet::count_registered() const {
  std::lock_guard lock(impl_->mutex);
  std::size_t n = 0;
  for (const auto& p : impl_->peers) n += p->stats->registered ? 1 : 0;
  return n;
}

std::size_t Fleet::count_closed() const {
  std::lock_guard lock(impl_->mutex);
  std::size_t n = 0;
  for (const auto& p : impl_->peers) n += p->stats->closed ? 1 : 0;
  return n;
}

bool Fleet::wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace wasimoff::testing
