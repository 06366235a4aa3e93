// A provider peer for scheduler unit tests: the provider side of an in-memory transport pair
// whose Broker side is a real ProviderSession in a real ProviderRegistry. Everything runs on
// one io_context; tests drive it from a coroutine.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "broker/providers/provider_registry.h"
#include "protocol/memory_transport.h"
#include "protocol/messenger.h"

namespace wasimoff::broker::testing {

class FakeProvider {
 public:
  enum class Mode { kEcho, kHold, kEnvelopeError, kSilent };

  FakeProvider(asio::io_context& io, ProviderRegistry& registry, std::string name,
               std::uint32_t capacity, std::vector<std::string> files = {})
      : io_(io), name_(std::move(name)) {
    auto [broker_end, provider_end] = protocol::make_memory_transport_pair(io.get_executor());
    protocol::Messenger::Options o;
    o.name = "fake " + name_;
    o.disconnect_error = "broker gone";
    peer_ = std::make_shared<protocol::Messenger>(io.get_executor(), std::move(provider_end), o);
    peer_->serve<v1::Filesystem::Listing::Request>(
        [files](v1::Filesystem::Listing::Request&) -> awaitable<protocol::Reply> {
          v1::Filesystem::Listing::Response r;
          for (const auto& f : files) r.add_files(f);
          co_return protocol::Reply::with(std::move(r));
        });
    peer_->serve<v1::Ping>([this](v1::Ping&) -> awaitable<protocol::Reply> {
      ++pings;
      co_return protocol::Reply::with(v1::Ping());
    });
    peer_->serve<v1::Task::Cancel>([this](v1::Task::Cancel& c) -> awaitable<protocol::Reply> {
      cancels.push_back(c);
      if (auto it = gates_.find(c.id()); it != gates_.end()) {
        cancel_reasons_[c.id()] = c.reason();
        it->second->set();
      }
      if (!answer_cancels) co_await never();
      co_return protocol::Reply::with(v1::Task::Cancel(c));
    });
    peer_->serve<v1::Task::Wasip1::Request>(
        [this](v1::Task::Wasip1::Request& r) -> awaitable<protocol::Reply> {
          co_return co_await run(r);
        });
    peer_->serve<v1::Task::Pyodide::Request>(
        [this](v1::Task::Pyodide::Request& r) -> awaitable<protocol::Reply> {
          received.push_back(r.info().id());
          if (!pyodide) co_return protocol::Reply::fail("not implemented");
          v1::Task::Pyodide::Response out;
          *out.mutable_info() = r.info();
          out.mutable_ok()->set_stdout(r.params().script());
          co_return protocol::Reply::with(std::move(out));
        });
    peer_->start();
    ProviderInfo info;
    info.name = name_;
    info.transport = "memory";
    session = registry.connect(std::move(broker_end), std::move(info));
    set_capacity(capacity);
  }

  ~FakeProvider() { peer_->close(protocol::CloseCode::kNormal, "bye!"); }

  void set_capacity(std::uint32_t c) {
    v1::Event::ProviderResources r;
    r.set_concurrency(c);
    r.set_tasks(0);
    peer_->send_event(r);
  }
  void add_files(std::vector<std::string> refs) {
    v1::Event::FileSystemUpdate u;
    for (auto& r : refs) u.add_added(r);
    peer_->send_event(u);
  }
  // Lets the held task `id` finish (answered ok).
  void release(const std::string& id) {
    if (auto it = gates_.find(id); it != gates_.end()) it->second->set();
  }
  void release_all() {
    for (auto& [id, g] : gates_) g->set();
  }
  void disconnect() { peer_->close(protocol::CloseCode::kNormal, "leaving"); }

  std::size_t running() const { return gates_.size(); }
  const std::string& name() const { return name_; }

  Mode mode = Mode::kEcho;
  bool pyodide = true;
  bool answer_cancels = true;
  std::string error_text = "transient failure";
  std::vector<std::string> received;  // task ids in arrival order (both kinds)
  std::vector<v1::Task::Cancel> cancels;
  std::size_t max_running = 0;
  int pings = 0;  // Pings the Broker sent
  std::shared_ptr<ProviderSession> session;

 private:
  awaitable<void> never() {
    OneShotEvent e(io_.get_executor());
    co_await e.wait();
  }

  awaitable<protocol::Reply> run(v1::Task::Wasip1::Request& r) {
    std::string id = r.info().id();
    received.push_back(id);
    v1::Task::Wasip1::Response out;
    *out.mutable_info() = r.info();
    switch (mode) {
      case Mode::kEnvelopeError:
        co_return protocol::Reply::fail(error_text);
      case Mode::kSilent:
        co_await never();
        co_return protocol::Reply::fail("unreachable");
      case Mode::kHold: {
        auto gate = std::make_shared<OneShotEvent>(io_.get_executor());
        gates_[id] = gate;
        max_running = std::max(max_running, gates_.size());
        co_await gate->wait();
        gates_.erase(id);
        if (auto it = cancel_reasons_.find(id); it != cancel_reasons_.end()) {
          out.set_error("task canceled: " + it->second);
          co_return protocol::Reply::with(std::move(out));
        }
        break;
      }
      case Mode::kEcho:
        break;
    }
    out.mutable_ok()->set_status(0);
    out.mutable_ok()->set_stdout(r.params().args_size() > 1 ? r.params().args(1) : "");
    co_return protocol::Reply::with(std::move(out));
  }

  asio::io_context& io_;
  std::string name_;
  std::shared_ptr<protocol::Messenger> peer_;
  std::map<std::string, std::shared_ptr<OneShotEvent>> gates_;
  std::map<std::string, std::string> cancel_reasons_;
};

}  // namespace wasimoff::broker::testing
