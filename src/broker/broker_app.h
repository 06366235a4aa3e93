// The Broker application: wires configuration, certificates, storage, metrics, the provider
// registry, the scheduler, the HTTP(S) server with every route, and the QUIC listener.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "broker/config/broker_config.h"
#include "common/async.h"

namespace wasimoff::broker {

class BrokerApp {
 public:
  // Opens storage and prepares certificates. Throws ConfigError for problems that are
  // configuration errors (exit status 2), e.g. a storage directory that cannot be created.
  BrokerApp(asio::io_context& io, BrokerConfig config);
  ~BrokerApp();

  // Binds the listeners and starts serving. Throws std::runtime_error naming the listener when a
  // port cannot be bound (exit status 1).
  void start();

  // Graceful shutdown (docs/configuration.md §8): stop accepting, fail queued and running tasks
  // with `unavailable`, close provider connections with `broker shutting down`, let in-flight HTTP
  // responses finish; bounded by `grace`.
  awaitable<void> shutdown(std::chrono::milliseconds grace = std::chrono::milliseconds(4500));

  // SIGHUP: re-read certificate files.
  void reload_certificates();

  // "http://127.0.0.1:4080" etc. (after start()).
  std::vector<std::string> listen_urls() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wasimoff::broker
