#include "broker/providers/provider_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>

#include "broker/providers/provider_name.h"
#include "broker/providers/provider_registry.h"
#include "common/env_config.h"
#include "common/file_ref.h"
#include "common/strings.h"

namespace wasimoff::broker {

using protocol::CloseCode;

namespace {
std::atomic<std::uint64_t> next_provider_id{1};
}

ProviderSession::ProviderSession(asio::any_io_executor ex,
                                 std::unique_ptr<protocol::Transport> transport, ProviderInfo info,
                                 ProviderRegistry& registry, Timing timing, Limits limits,
                                 Clock& clock)
    : caps(clock),
      id_(next_provider_id++),
      ex_(ex),
      clock_(clock),
      info_(std::move(info)),
      registry_(registry),
      timing_(timing),
      limits_(limits),
      keepalive_timer_(ex_, clock) {
  protocol::Messenger::Options options;
  options.name = "provider " + info_.name + " (" + info_.address + ")";
  options.disconnect_error = "provider disconnected";
  options.clock = &clock;  // attempt time limits, cancel grace, Ping time limit
  // The Messenger fails outstanding calls with kResourceExhausted and this text.
  options.oversize_error = "output too large: the provider answered with a message larger than " +
                           format_bytes(limits_.max_message_size) +
                           " (WASIMOFF_MAX_MESSAGE_SIZE) and its connection was closed";
  messenger_ = std::make_shared<protocol::Messenger>(ex, std::move(transport), options);
}

ProviderSession::~ProviderSession() = default;

void ProviderSession::start() {
  messenger_->on_event([this](const google::protobuf::Message& m) { on_event(m); });
  messenger_->serve<v1::Ping>(
      [](v1::Ping&) -> awaitable<protocol::Reply> { co_return protocol::Reply::with(v1::Ping()); });
  // The keep-alive sleeps on a plain timer that the close cancels (cheaper per idle provider
  // than a parallel wait on the timer and the closed() event).
  messenger_->on_closed([weak = weak_from_this()] {
    if (auto self = weak.lock()) self->keepalive_timer_.cancel();
  });
  messenger_->start();
  spawn_logged(ex_, hold(shared_from_this(), run()), "provider session");
}

void ProviderSession::close(CloseCode code, std::string reason) {
  messenger_->close(code, std::move(reason));
}

bool ProviderSession::has_files(const std::vector<std::string>& refs) const {
  for (const auto& r : refs)
    if (!files_.count(r)) return false;
  return true;
}

awaitable<void> ProviderSession::run() {
  spdlog::info("provider {} connected from {} via {} ({})", info_.name, info_.address,
               info_.transport, info_.user_agent);
  // FIFO turn among the connections being admitted; the Listing's time limit starts now.
  Result<v1::Filesystem::Listing::Response> listing = unavailable("not admitted");
  std::string reason;
  {
    auto turn = co_await registry_.admission.acquire(messenger_->closed());
    if (!turn)
      reason = turn.error().message();  // the admission gate's refusal
    else
      listing = co_await messenger_->call_as<v1::Filesystem::Listing::Response>(
          v1::Filesystem::Listing::Request(), timing_.listing_timeout);
  }  // the ticket releases the admission slot
  if (!listing && reason.empty())
    reason = listing.error().code() == StatusCode::kDeadlineExceeded
                 ? "listing timeout"
                 : "listing failed: " + listing.error().message();
  if (!listing) {
    spdlog::warn("provider {} ({}) not admitted: {}", info_.name, info_.address, reason);
    messenger_->close(CloseCode::kInternalError, reason);
  } else {
    add_files(listing->files(), "Listing");
    registered_ = true;
    registry_.on_registered(shared_from_this());
    co_await keepalive();  // until the messenger closes
    registered_ = false;
    registry_.on_unregistered(*this);
  }
  co_await messenger_->closed().wait();
  spdlog::info("provider {} ({}) disconnected: {}", info_.name, info_.address,
               messenger_->close_reason());
  registry_.on_session_ended(*this);
}

awaitable<void> ProviderSession::keepalive() {
  auto next_ping = clock_.steady_after(timing_.ping_interval);
  const auto silence = timing_.silence_timeout;
  while (!messenger_->is_closed()) {
    auto now = clock_.steady_now();
    // The Messenger dates its activity on the real steady clock.
    const auto quiet = std::chrono::steady_clock::now() - messenger_->last_activity();
    if (silence.count() > 0 && quiet >= silence) {
      std::string reason = "ping timeout: nothing received for " + env::format_duration(silence);
      spdlog::warn("provider {} ({}): {}, closing", info_.name, info_.address, reason);
      messenger_->close(CloseCode::kInternalError, reason);
      co_return;
    }
    if (now >= next_ping) {
      // Pings run on their own: a slow answer does not delay the next one or the check above.
      spawn_logged(ex_, hold(shared_from_this(), ping_once()), "provider ping");
      next_ping = clock_.steady_after(timing_.ping_interval);
    }
    auto wake = next_ping;
    if (silence.count() > 0) wake = std::min(wake, now + (silence - quiet));
    keepalive_timer_.expires_at(std::max(wake, now + std::chrono::milliseconds(1)));
    co_await keepalive_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

awaitable<void> ProviderSession::ping_once() {
  auto t0 = clock_.steady_now();
  auto r = co_await messenger_->call(v1::Ping(), timing_.ping_timeout);
  if (messenger_->is_closed()) co_return;
  // An error Response counts as an answer (older providers do not know Ping); an unanswered
  // Ping only leaves the average alone — the silence bound in keepalive() closes hung providers.
  if (!r.answered) co_return;
  double ms = std::chrono::duration<double, std::milli>(clock_.steady_now() - t0).count();
  ping_avg_ms_ = ping_avg_ms_ ? 0.3 * ms + 0.7 * *ping_avg_ms_ : ms;
}

template <typename Refs>
void ProviderSession::add_files(const Refs& refs, std::string_view what) {
  std::size_t malformed = 0, unknown = 0, over = 0;
  for (const auto& ref : refs) {
    if (normalize_ref(ref) != ref) {
      ++malformed;
    } else if (limits_.known_file && !limits_.known_file(ref)) {
      ++unknown;
    } else if (files_.size() >= limits_.max_files && !files_.count(ref)) {
      ++over;
    } else {
      files_.insert(ref);
    }
  }
  if (malformed + unknown + over == 0) return;
  // One warning per session; later ones at debug level (a provider cannot flood the log).
  auto level = files_ignored_logged_ ? spdlog::level::debug : spdlog::level::warn;
  files_ignored_logged_ = true;
  spdlog::log(level,
              "provider {} ({}): ignored {} of {} file refs in its {}: {} not canonical sha256 "
              "refs, {} unknown to the Broker's storage, {} beyond {} per provider",
              info_.name, info_.address, malformed + unknown + over, refs.size(), what, malformed,
              unknown, over, limits_.max_files);
}

void ProviderSession::on_event(const google::protobuf::Message& m) {
  if (auto* res = dynamic_cast<const v1::Event::ProviderResources*>(&m)) {
    if (res->has_concurrency()) {
      const auto before = capacity_;
      capacity_ = std::min(res->concurrency(), limits_.max_concurrency);
      if (registered_) registry_.on_capacity_changed(before, capacity_);
      if (capacity_ < res->concurrency() && !capped_logged_) {
        capped_logged_ = true;
        spdlog::warn(
            "provider {} ({}) announced {} workers; it gets at most {} tasks at a time "
            "(WASIMOFF_MAX_PROVIDER_CONCURRENCY)",
            info_.name, info_.address, res->concurrency(), limits_.max_concurrency);
      }
    }
    if (res->has_tasks()) announced_busy_ = res->tasks();
    spdlog::debug("provider {}: capacity {} busy {}", info_.name, capacity_, announced_busy_);
    registry_.notify_change();
  } else if (auto* up = dynamic_cast<const v1::Event::FileSystemUpdate*>(&m)) {
    add_files(up->added(), "FileSystemUpdate");
    for (const auto& f : up->removed()) files_.erase(f);
    registry_.notify_change();
  } else if (auto* c = dynamic_cast<const v1::ProviderCapabilities*>(&m)) {
    caps.announce(*c);
    if (c->has_pyodide() && !c->pyodide()) mark_unsupported(TaskKind::kPyodide);
    spdlog::info("provider {} runs {}{}", info_.name, caps.describe(),
                 c->has_pyodide() ? (c->pyodide() ? "; pyodide" : "; no pyodide") : "");
    registry_.notify_change();
  } else if (auto* msg = dynamic_cast<const v1::Event::GenericMessage*>(&m)) {
    spdlog::info("provider {}: {}", info_.name, msg->message());
  } else if (auto* hello = dynamic_cast<const v1::Event::ProviderHello*>(&m)) {
    // Legacy: fills in what the connection did not carry. An invalid name is ignored (the
    // handshake would have refused it), so names stay safe to show.
    if (info_.name == "anonymous" && !hello->name().empty()) {
      if (auto why = check_provider_name(hello->name()))
        spdlog::warn("provider {} ({}): ignoring the name in its ProviderHello: {}", info_.name,
                     info_.address, *why);
      else
        info_.name = hello->name();
    }
    if (info_.user_agent == "unknown" && !hello->useragent().empty())
      info_.user_agent = truncate_utf8(hello->useragent(), 256);
    spdlog::info("provider {} says hello ({})", info_.name, info_.user_agent);
  } else {
    spdlog::debug("provider {}: ignoring event {}", info_.name, m.GetDescriptor()->full_name());
  }
}

}  // namespace wasimoff::broker
