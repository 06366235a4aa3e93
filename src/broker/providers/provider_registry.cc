#include "broker/providers/provider_registry.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <iterator>

namespace wasimoff::broker {

using namespace asio::experimental::awaitable_operators;

ProviderRegistry::ProviderRegistry(asio::any_io_executor ex, Clock& clock)
    : admission(ex, clock), ex_(ex), clock_(&clock), stopped_(ex), all_gone_(ex) {}

void ProviderRegistry::start() {
  spawn_logged(ex_, throughput_loop(), "throughput broadcast");
}

std::shared_ptr<ProviderSession> ProviderRegistry::connect(
    std::unique_ptr<protocol::Transport> transport, ProviderInfo info) {
  auto session = std::make_shared<ProviderSession>(ex_, std::move(transport), std::move(info),
                                                   *this, timing, limits, *clock_);
  all_[session->id()] = session;
  session->start();
  return session;
}

void ProviderRegistry::on_registered(const std::shared_ptr<ProviderSession>& session) {
  registered_.push_back(session);
  total_capacity_ += session->capacity();
  spdlog::info("provider {} registered ({} providers, {} workers)", session->info().name,
               registered_.size(), total_capacity_);
  // The newcomer learns the size at once; the others through refresh_cluster_info() within a
  // second (docs/protocol.md §8 step 3). Telling everybody now would cost O(N) per join.
  v1::Event::ClusterInfo info;
  info.set_providers(static_cast<std::uint32_t>(registered_.size()));
  session->cluster_info_sent = info.providers();
  session->messenger().send_latest_event(info);
  notify_change();
}

void ProviderRegistry::on_unregistered(ProviderSession& session) {
  // Searched from the back: pointers only, and the vector keeps registration order (the
  // scheduler's iteration order). No message is sent here (see on_registered).
  auto it = std::find_if(registered_.rbegin(), registered_.rend(),
                         [&](const auto& p) { return p.get() == &session; });
  if (it != registered_.rend()) {
    total_capacity_ -= session.capacity();
    registered_.erase(std::next(it).base());
  }
  notify_change();
}

void ProviderRegistry::on_session_ended(ProviderSession& session) {
  all_.erase(session.id());
  if (all_.empty()) all_gone_.set();
}

void ProviderRegistry::on_capacity_changed(std::uint32_t before, std::uint32_t after) {
  total_capacity_ = total_capacity_ - before + after;
}

void ProviderRegistry::refresh_cluster_info() {
  v1::Event::ClusterInfo info;
  info.set_providers(static_cast<std::uint32_t>(registered_.size()));
  for (const auto& p : registered_) {
    if (p->cluster_info_sent == info.providers()) continue;
    p->cluster_info_sent = info.providers();
    p->messenger().send_latest_event(info);
  }
}

std::int64_t ProviderRegistry::now_second() const {
  return std::chrono::duration_cast<std::chrono::seconds>(clock_->steady_now().time_since_epoch())
      .count();
}

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
    co_await (clock_->sleep_for(std::chrono::seconds(1)) || stopped_.wait());
    if (stopped_.is_set()) co_return;
    refresh_cluster_info();
    float overall = static_cast<float>(throughput());
    for (const auto& p : registered_) {
      v1::Event::Throughput t;
      t.set_overall(overall);
      t.set_yours(static_cast<float>(throughput(p->id())));
      p->messenger().send_latest_event(t);
    }
  }
}

awaitable<void> ProviderRegistry::close_all(std::string reason, std::chrono::milliseconds grace) {
  stopped_.set();
  std::vector<std::shared_ptr<ProviderSession>> sessions;
  for (auto& [id, w] : all_)
    if (auto p = w.lock()) sessions.push_back(p);
  if (sessions.empty()) co_return;
  // One 200 ms budget for flushing all queues, not 200 ms per provider (thousands of providers,
  // some of them not reading, would otherwise hold the shutdown for minutes).
  // (Messenger::flush itself waits on the real clock.)
  const auto flush_end = clock_->steady_now() + std::chrono::milliseconds(200);
  for (auto& s : sessions) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(flush_end - clock_->steady_now());
    if (left.count() > 0) co_await s->messenger().flush(left);
    s->close(protocol::CloseCode::kNormal, reason);
  }
  sessions.clear();
  co_await (all_gone_.wait() || clock_->sleep_for(grace));
}

}  // namespace wasimoff::broker
