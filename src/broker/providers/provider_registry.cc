#include "broker/providers/provider_registry.h"

#include <spdlog/spdlog.h>

#include <boost/asio/experimental/awaitable_operators.hpp>

namespace wasimoff::broker {

using namespace asio::experimental::awaitable_operators;

ProviderRegistry::ProviderRegistry(asio::any_io_executor ex)
    : ex_(ex), stopped_(ex), all_gone_(ex) {}

void ProviderRegistry::start() {
  spawn_logged(ex_, throughput_loop(), "throughput broadcast");
}

std::shared_ptr<ProviderSession> ProviderRegistry::connect(
    std::unique_ptr<protocol::Transport> transport, ProviderInfo info) {
  auto session = std::make_shared<ProviderSession>(ex_, std::move(transport), std::move(info),
                                                   *this, timing, limits);
  std::erase_if(all_, [](const auto& w) { return w.expired(); });
  all_.push_back(session);
  session->start();
  return session;
}

void ProviderRegistry::on_registered(const std::shared_ptr<ProviderSession>& session) {
  registered_.push_back(session);
  spdlog::info("provider {} registered ({} providers, {} workers)", session->info().name,
               registered_.size(), total_capacity());
  broadcast_cluster_info();
  notify_change();
}

void ProviderRegistry::on_unregistered(ProviderSession& session) {
  std::erase_if(registered_, [&](const auto& p) { return p.get() == &session; });
  broadcast_cluster_info();
  notify_change();
}

void ProviderRegistry::on_session_ended(ProviderSession& session) {
  std::erase_if(all_, [&](const auto& w) {
    auto p = w.lock();
    return !p || p.get() == &session;
  });
  if (all_.empty()) all_gone_.set();
}

std::uint64_t ProviderRegistry::total_capacity() const {
  std::uint64_t sum = 0;
  for (const auto& p : registered_) sum += p->capacity();
  return sum;
}

void ProviderRegistry::broadcast_cluster_info() {
  v1::Event::ClusterInfo info;
  info.set_providers(static_cast<std::uint32_t>(registered_.size()));
  for (const auto& p : registered_) p->messenger().send_event(info);
}

namespace {
std::int64_t now_second() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

void ProviderRegistry::record_completion(std::uint64_t provider_id) {
  auto sec = now_second();
  auto& b = buckets_[static_cast<std::size_t>(sec) % buckets_.size()];
  if (b.second != sec) b = Bucket{sec, 0, {}};
  ++b.overall;
  ++b.per_provider[provider_id];
}

double ProviderRegistry::throughput(std::optional<std::uint64_t> provider_id) const {
  // The last five complete seconds plus the current partial one would overweight; use the five
  // buckets before the current second.
  auto sec = now_second();
  std::uint64_t count = 0;
  for (const auto& b : buckets_) {
    if (b.second < sec - 5 || b.second >= sec) continue;
    if (!provider_id)
      count += b.overall;
    else if (auto it = b.per_provider.find(*provider_id); it != b.per_provider.end())
      count += it->second;
  }
  return static_cast<double>(count) / 5.0;
}

awaitable<void> ProviderRegistry::throughput_loop() {
  while (!stopped_.is_set()) {
    co_await (sleep_for(std::chrono::seconds(1)) || stopped_.wait());
    if (stopped_.is_set()) co_return;
    float overall = static_cast<float>(throughput());
    for (const auto& p : registered_) {
      v1::Event::Throughput t;
      t.set_overall(overall);
      t.set_yours(static_cast<float>(throughput(p->id())));
      p->messenger().send_event(t);
    }
  }
}

awaitable<void> ProviderRegistry::close_all(std::string reason, std::chrono::milliseconds grace) {
  stopped_.set();
  std::vector<std::shared_ptr<ProviderSession>> sessions;
  for (auto& w : all_)
    if (auto p = w.lock()) sessions.push_back(p);
  if (sessions.empty()) co_return;
  for (auto& s : sessions) {
    co_await s->messenger().flush(std::chrono::milliseconds(200));
    s->close(protocol::CloseCode::kNormal, reason);
  }
  sessions.clear();
  co_await (all_gone_.wait() || sleep_for(grace));
}

}  // namespace wasimoff::broker
