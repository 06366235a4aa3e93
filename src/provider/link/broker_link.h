// The native provider's connection to the Broker (docs/provider-internals.md §3.1, docs/protocol.md
// §9): connect over WebSocket (or WebTransport), announce ProviderResources on connect and on every
// change, send FileSystemUpdate for cache changes, serve the Broker's Requests through TaskHandler,
// and reconnect with capped exponential back-off and jitter.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/async.h"
#include "provider/link/task_handler.h"

namespace wasimoff::provider {

struct LinkOptions {
  std::string broker = "http://localhost:4080";  // Broker HTTP origin
  std::string transport = "auto";                // auto | webtransport | websocket
  std::string name;                              // ?id=
  std::string token;                             // provider token
  std::string user_agent;
  std::string ca_file;    // TLS verification for https:// brokers (system store when empty)
  bool insecure = false;  // skip TLS verification (self-signed test brokers)
  bool retry = true;      // false: --no-retry
  std::chrono::milliseconds backoff_min = std::chrono::seconds(1);
  std::chrono::milliseconds backoff_max = std::chrono::seconds(30);
  std::chrono::milliseconds backoff_reset = std::chrono::seconds(60);
  std::chrono::milliseconds drain_timeout = std::chrono::seconds(30);
  // Announced in ProviderCapabilities (to a Broker whose discovery offers it): the WASI
  // import module names the worker provides and the linear-memory limit per task (0 = none).
  std::vector<std::string> wasi_modules;
  std::uint64_t memory_limit = 0;
};

class BrokerLink {
 public:
  // Announces pool changes itself; file-cache changes arrive through files_changed().
  BrokerLink(asio::any_io_executor ex, LinkOptions options, TaskHandler& handler,
             pool::WorkerPool& pool);

  // Connects and serves until stop() (returns 0) or, with retry off, until the first connection
  // failure or loss (returns 1).
  awaitable<int> run();

  // Graceful stop: announce concurrency 0, let running tasks finish (up to drain_timeout), close
  // normally. A second call cancels running tasks at once.
  void stop();

  // Sends Event.FileSystemUpdate for files the cache stored or evicted (while connected).
  void files_changed(const std::vector<std::string>& added,
                     const std::vector<std::string>& removed);

 private:
  struct Discovery {
    std::string transport;  // WebTransport URL
    std::string certhash;
    std::uint64_t max_message_size = TaskHandler::kDefaultMessageLimit;
    bool capabilities = false;  // the Broker understands ProviderCapabilities
  };
  awaitable<Discovery> discover();
  // `text` with every occurrence of the token replaced (for logs and errors).
  std::string redact(std::string text) const;
  awaitable<std::unique_ptr<protocol::Transport>> connect();
  awaitable<std::unique_ptr<protocol::Transport>> connect_webtransport(const Discovery& d,
                                                                       const std::string& query);
  awaitable<std::unique_ptr<protocol::Transport>> connect_websocket(const std::string& query);
  awaitable<void> serve(std::unique_ptr<protocol::Transport> transport);
  void announce_resources();
  void announce_capabilities();

  asio::any_io_executor ex_;
  LinkOptions options_;
  TaskHandler& handler_;
  pool::WorkerPool& pool_;
  std::shared_ptr<protocol::Messenger> messenger_;
  OneShotEvent stop_requested_;
  bool draining_ = false;
  bool broker_takes_capabilities_ = false;  // from the discovery of the current connection
  int stop_calls_ = 0;
};

}  // namespace wasimoff::provider
