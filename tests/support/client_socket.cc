#include "client_socket.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <thread>

#include "net/websocket/websocket_transport.h"

namespace wasimoff::testing {

struct ClientSocket::Impl {
  // Declared first so that it is destroyed last: every I/O object below belongs to it.
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
  std::shared_ptr<protocol::Messenger> messenger;
  std::atomic<bool> closed{false};
  std::thread thread;
  std::promise<void> thread_done;

  awaitable<void> connect(std::string url, std::vector<std::string> subprotocols,
                          http::Headers headers) {
    auto ex = co_await asio::this_coro::executor;
    websocket::ConnectOptions o;
    o.subprotocols = std::move(subprotocols);
    o.headers = std::move(headers);
    auto transport = co_await websocket::connect(ex, std::move(url), std::move(o));
    protocol::Messenger::Options mo;
    mo.name = "test client";
    mo.disconnect_error = "client socket closed";
    messenger = std::make_shared<protocol::Messenger>(ex, std::move(transport), mo);
    messenger->start();
    spawn_logged(ex, watch(messenger), "client socket watch");
  }

  awaitable<void> watch(std::shared_ptr<protocol::Messenger> m) {
    co_await m->closed().wait();
    closed = true;
  }

  awaitable<protocol::CallResult> do_call(std::shared_ptr<google::protobuf::Message> request) {
    if (!messenger) co_return protocol::CallResult{unavailable("client socket closed"), {}};
    co_return co_await messenger->call(*request);
  }

  awaitable<void> do_close() {
    if (messenger) messenger->close(protocol::CloseCode::kNormal, "bye!");
    co_return;
  }

  void stop() {
    if (!thread.joinable()) return;
    asio::co_spawn(io, do_close(), asio::detached);
    guard.reset();
    auto done = thread_done.get_future();
    if (done.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      spdlog::warn("client socket: loop did not drain, stopping it");
      io.stop();
    }
    thread.join();
  }
};

ClientSocket::ClientSocket(std::string url, std::vector<std::string> subprotocols,
                           http::Headers headers)
    : impl_(std::make_shared<Impl>()) {
  auto& d = *impl_;
  auto connected =
      asio::co_spawn(d.io, d.connect(std::move(url), std::move(subprotocols), std::move(headers)),
                     asio::use_future);
  d.thread = std::thread([&d] {
    try {
      d.io.run();
    } catch (const std::exception& e) {
      spdlog::error("client socket loop: {}", e.what());
    }
    d.thread_done.set_value();
  });
  try {
    if (connected.wait_for(std::chrono::seconds(20)) != std::future_status::ready)
      throw std::runtime_error("client socket: connect did not finish");
    connected.get();
  } catch (...) {
    d.stop();
    throw;
  }
}

ClientSocket::~ClientSocket() {
  impl_->stop();
}

std::future<protocol::CallResult> ClientSocket::call(const google::protobuf::Message& request) {
  std::shared_ptr<google::protobuf::Message> copy(request.New());
  copy->CopyFrom(request);
  return asio::co_spawn(impl_->io, impl_->do_call(std::move(copy)), asio::use_future);
}

void ClientSocket::close() {
  asio::co_spawn(impl_->io, impl_->do_close(), asio::use_future).wait_for(std::chrono::seconds(10));
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!impl_->closed && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

bool ClientSocket::closed() const {
  return impl_->closed;
}

}  // namespace wasimoff::testing
