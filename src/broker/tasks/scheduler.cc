#include "broker/tasks/scheduler.h"

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>
#include <spdlog/spdlog.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <cmath>

#include "broker/tasks/capability_placement.h"
#include "common/env_config.h"
#include "common/strings.h"
#include "protocol/any_payload.h"
#include "protocol/task_trace.h"

namespace wasimoff::broker {

using namespace asio::experimental::awaitable_operators;
using Event = v1::Task::TraceEvent;

std::chrono::milliseconds retry_delay(int attempt) {
  double ms = 10.0 * std::pow(10.0, (attempt - 2) / 4.0);
  return std::chrono::milliseconds(static_cast<long>(std::lround(ms)));
}

namespace {

double seconds_since(const Clock& clock, Clock::SteadyTime t) {
  return std::chrono::duration<double>(clock.steady_now() - t).count();
}

// The application-level error of a task Response, or nullptr.
const std::string* response_error(const protocol::TaskResponse& response) {
  return std::visit([](const auto& r) { return r.has_error() ? &r.error() : nullptr; }, response);
}

}  // namespace

Scheduler::Scheduler(asio::any_io_executor ex, ProviderRegistry& registry, Options options,
                     SchedulerObserver observer)
    : ex_(ex),
      registry_(registry),
      options_(options),
      observer_(std::move(observer)),
      placement_(options_.placement ? options_.placement
                                    : std::make_shared<CapabilityAwarePlacement>()) {
  registry_.on_change = [this] { kick(); };
}

std::size_t Scheduler::active() const {
  return active_.size();
}

std::optional<Status> Scheduler::admit(const std::shared_ptr<Task>& task) {
  if (shutting_down_) return unavailable("broker shutting down");
  if (task->deadline && *task->deadline <= clock().system_now())
    return deadline_exceeded("deadline exceeded");
  if (auto why = unplaceable(*task)) {
    // Every registered provider refused this module already or announced it cannot run it:
    // the answer it would get is known (docs/scheduling.md §3.4).
    task->admission_seq_ = next_admission_++;
    task->trace(Event::BrokerQueueTask);
    finish_with_application_error(task, "", *why);
    return std::nullopt;
  }
  if (task->immediate()) {
    auto provider = select(*task);
    if (!provider) return unavailable("qos: no idle workers for immediate mode");
    task->admission_seq_ = next_admission_++;
    task->trace(Event::BrokerQueueTask);
    arm_deadline(task);
    assign(task, provider);
    return std::nullopt;
  }
  if (queue_.size() >= options_.queue_size) return resource_exhausted("queue full");
  task->admission_seq_ = next_admission_++;
  task->trace(Event::BrokerQueueTask);
  enqueue(task);
  arm_deadline(task);
  kick();
  return std::nullopt;
}

std::optional<Status> Scheduler::admit_all(const std::vector<std::shared_ptr<Task>>& tasks) {
  if (shutting_down_) return unavailable("broker shutting down");
  std::size_t queued = 0;
  for (const auto& t : tasks)
    if (!t->immediate()) ++queued;
  if (queue_.size() + queued > options_.queue_size) return resource_exhausted("queue full");
  for (const auto& t : tasks)
    if (auto err = admit(t)) finish(t, *err);
  return std::nullopt;
}

void Scheduler::enqueue(const std::shared_ptr<Task>& task) {
  task->state_ = Task::State::kQueued;
  queue_.insert(task);
}

void Scheduler::kick() {
  if (dispatch_pending_) return;
  dispatch_pending_ = true;
  asio::post(ex_, [this] { dispatch(); });
}

void Scheduler::dispatch() {
  dispatch_pending_ = false;
  if (queue_.empty()) return;
  auto free_slots = [this] {
    for (const auto& p : registry_.registered())
      if (!p->closing() && p->has_free_slot()) return true;
    return false;
  };
  if (!free_slots()) return;
  for (auto it = queue_.begin(); it != queue_.end();) {
    auto provider = select(**it);
    if (!provider) {
      if (auto why = unplaceable(**it)) {
        auto task = *it;
        it = queue_.erase(it);
        finish_with_application_error(task, "", *why);
        continue;
      }
      ++it;  // keeps its place; later tasks may still fit elsewhere
      continue;
    }
    auto task = *it;
    it = queue_.erase(it);
    assign(task, provider);
    if (!free_slots()) break;
  }
}

std::shared_ptr<ProviderSession> Scheduler::select(Task& task) const {
  return placement_->select(task, registry_.registered());
}

bool Scheduler::any_candidate(Task& task) const {
  return select(task) != nullptr;
}

bool Scheduler::excluded(const Task& task, const ProviderSession& provider) const {
  return broker::excluded(task, provider);
}

std::optional<std::string> Scheduler::unplaceable(const Task& task) const {
  if (!task.module && task.refused_by_.empty()) return std::nullopt;
  std::size_t supporting = 0;
  for (const auto& p : registry_.registered()) {
    if (p->closing() || !p->supports(task.kind())) continue;
    if (!excluded(task, *p)) return std::nullopt;
    ++supporting;
  }
  if (supporting == 0) return std::nullopt;
  // Every one of them is ruled out. The result is a refusal a provider gave (this task's last,
  // else one remembered for the module), else what the announcements rule out.
  if (!task.last_refusal_.empty() || !task.module) return task.last_refusal_;
  for (const auto& p : registry_.registered())
    if (!p->closing() && p->supports(task.kind()))
      if (const std::string* r = p->caps.refusal(task.module->key)) return *r;
  for (const auto& p : registry_.registered())
    if (!p->closing() && p->supports(task.kind()))
      if (auto why = p->caps.mismatch(*task.module))
        return fmt::format("unsupported module: no connected provider can run it: {}", *why);
  return std::string("unsupported module: no connected provider can run it");
}

void Scheduler::module_refused(const std::shared_ptr<Task>& task,
                               const std::shared_ptr<ProviderSession>& provider,
                               const std::string& error) {
  const std::string& name = provider->info().name;
  if (task->module) provider->caps.remember_refusal(task->module->key, error);
  if (++task->refusals_ > kMaxRefusals) {
    attempt_failed(task, name, error);
    return;
  }
  // Not a failed attempt: no attempt consumed, no back-off, no avoid-list strike.
  task->attempts_--;
  task->refused_by_.insert(provider->id());
  task->last_refusal_ = truncate_utf8(error, ProviderCaps::kMaxRefusalText);
  if (observer_.module_refused) observer_.module_refused();
  if (auto why = unplaceable(*task)) {
    finish_with_application_error(task, "", *why);
    return;
  }
  spdlog::info("provider {} cannot run the module of task {}; placing it elsewhere: {}", name,
               task->id(), escape_untrusted(error));
  if (task->immediate()) {
    if (auto other = select(*task))
      assign(task, other);
    else
      finish(task, unavailable("qos: no idle workers for immediate mode"));
    return;
  }
  enqueue(task);
  kick();
}

void Scheduler::assign(const std::shared_ptr<Task>& task,
                       const std::shared_ptr<ProviderSession>& provider) {
  task->state_ = Task::State::kActive;
  active_.insert(task);
  provider->active++;
  provider->last_assigned = ++assignment_counter_;
  task->holds_slot_ = true;
  task->provider_ = provider;
  int attempt = ++task->attempts_;
  task->trace(Event::BrokerScheduleTask, fmt::format("attempt {}", attempt));
  task->trace(Event::BrokerTransmitProviderTask, provider->info().name);
  task->info().set_provider(provider->info().name);
  if (task->deadline) {
    auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(task->deadline->time_since_epoch())
            .count();
    *task->qos().mutable_deadline() = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(ns);
  }
  if (observer_.scheduled) observer_.scheduled(seconds_since(clock(), task->accepted));
  task->assigned_ = clock().steady_now();
  children_.spawn(run_attempt(task, provider), "task attempt");
}

void Scheduler::release_slot(Task& task) {
  if (!task.holds_slot_) return;
  task.holds_slot_ = false;
  if (auto p = task.provider_.lock()) {
    if (p->active > 0) p->active--;
  }
  kick();
}

awaitable<void> Scheduler::run_attempt(std::shared_ptr<Task> task,
                                       std::shared_ptr<ProviderSession> provider) {
  auto abandon = std::make_shared<OneShotEvent>(ex_);
  task->abandon_attempt_ = abandon;
  google::protobuf::Any payload;
  task->pack_request(&payload);
  const auto limit = attempt_limit(*task);
  protocol::CallResult r =
      co_await provider->messenger().call_packed(std::move(payload), limit, abandon.get());
  if (limit.count() > 0 && !abandon->is_set() && task->state_ == Task::State::kActive &&
      !r.answered && r.status.code() == StatusCode::kDeadlineExceeded) {
    attempt_timed_out(task, provider);
    co_return;
  }
  release_slot(*task);
  active_.erase(task);
  if (task->state_ == Task::State::kDone) co_return;  // cancelled meanwhile: the answer is dropped
  const std::string& name = provider->info().name;
  if (r.ok()) provider->timeout_strikes = 0;  // it delivers results
  if (!r.ok()) {
    const std::string& error = r.error();
    if (r.status.code() == StatusCode::kUnimplemented) {
      spdlog::info("provider {} does not run {} tasks; task {} goes back to the queue", name,
                   kind_name(task->kind()), task->id());
      provider->mark_unsupported(task->kind());
      task->attempts_--;
      enqueue(task);
      kick();
      co_return;
    }
    if (r.status.code() == StatusCode::kFailedPrecondition) {  // e.g. v1 browsers' CompileError
      module_refused(task, provider, error);
      co_return;
    }
    if (r.status.code() == StatusCode::kResourceExhausted &&
        ++task->oversized_attempts_ >= kMaxOversizedAttempts) {
      finish_with_application_error(task, name, error);
      co_return;
    }
    attempt_failed(task, name, error);
    co_return;
  }
  protocol::TaskResponse response = protocol::empty_response(task->kind());
  if (std::visit([&](auto& m) { return protocol::unpack_any(r.payload, &m); }, response) !=
      protocol::UnpackStatus::kOk) {
    attempt_failed(
        task, name,
        "unexpected response payload " + protocol::Messenger::describe_payload(r.payload));
    co_return;
  }
  if (const std::string* refusal = response_error(response);
      refusal && is_module_refusal(*refusal)) {
    module_refused(task, provider, *refusal);
    co_return;
  }
  // Keep the provider's metadata (it carries its trace events) but the Broker's values win.
  bool provider_info = std::visit([](const auto& m) { return m.has_info(); }, response);
  auto* info = std::visit([](auto& m) { return m.mutable_info(); }, response);
  if (!provider_info || (task->tracing() && !info->has_trace())) *info = task->info();
  info->set_id(task->info().id());
  info->set_requester(task->info().requester());
  info->set_provider(name);
  if (task->info().has_reference())
    info->set_reference(task->info().reference());
  else
    info->clear_reference();
  if (!task->tracing()) info->clear_trace();
  protocol::append_trace_event(*info, Event::BrokerReceivedProviderResult);
  registry_.record_completion(provider->id());
  finish(task, std::nullopt, std::move(response));
}

std::chrono::milliseconds Scheduler::attempt_limit(const Task& task) const {
  const auto limit = options_.attempt_timeout;
  if (limit.count() <= 0) return std::chrono::milliseconds(0);
  if (task.deadline && *task.deadline - clock().system_now() <= limit)
    return std::chrono::milliseconds(0);
  return limit;
}

void Scheduler::attempt_timed_out(const std::shared_ptr<Task>& task,
                                  const std::shared_ptr<ProviderSession>& provider) {
  // The slot is not the task's any more: it belongs to the cancel below, which frees it once
  // the provider confirms (or the grace passes), so a stuck task does not free a slot it holds.
  task->holds_slot_ = false;
  active_.erase(task);
  if (observer_.attempt_timed_out) observer_.attempt_timed_out();
  const std::string name = provider->info().name;
  const int strikes = ++provider->timeout_strikes;
  const std::string limit = env::format_duration(options_.attempt_timeout);
  spdlog::warn(
      "provider {} ({}): task {} attempt {} got no result within {}, cancelled and "
      "retried elsewhere (timeout {} of {} in a row)",
      name, provider->info().address, task->id(), task->attempts_, limit, strikes,
      options_.max_timeout_strikes);
  children_.spawn(cancel_timed_out_attempt(provider, task->id()), "attempt cancel");
  attempt_failed(task, name,
                 "attempt timeout: no result within " + limit + " (WASIMOFF_ATTEMPT_TIMEOUT)");
  if (strikes >= options_.max_timeout_strikes && !provider->closing()) {
    std::string reason = fmt::format("{} task attempts in a row timed out", strikes);
    spdlog::warn("provider {} ({}): closing the connection: {}", name, provider->info().address,
                 reason);
    if (observer_.provider_closed_for_timeouts) observer_.provider_closed_for_timeouts();
    provider->close(protocol::CloseCode::kInternalError, reason);
  }
}

awaitable<void> Scheduler::cancel_timed_out_attempt(std::shared_ptr<ProviderSession> provider,
                                                    std::string task_id) {
  v1::Task::Cancel cancel;
  cancel.set_id(std::move(task_id));
  cancel.set_reason("attempt timeout");
  co_await provider->messenger().call(cancel, options_.cancel_grace);
  if (provider->active > 0) provider->active--;
  kick();
}

void Scheduler::finish_with_application_error(const std::shared_ptr<Task>& task,
                                              const std::string& provider_name,
                                              const std::string& error) {
  if (provider_name.empty())
    spdlog::info("task {}: {}; no registered provider can run it", task->id(),
                 escape_untrusted(error));
  else
    spdlog::info("task {}: {} (attempt {} on {}); not retried", task->id(), escape_untrusted(error),
                 task->attempts_, provider_name);
  task->trace(Event::BrokerError, error);
  protocol::TaskResponse response = protocol::empty_response(task->kind());
  std::visit(
      [&](auto& r) {
        *r.mutable_info() = task->info();
        r.set_error(error);
      },
      response);
  finish(task, std::nullopt, std::move(response));
}

void Scheduler::attempt_failed(const std::shared_ptr<Task>& task, const std::string& provider_name,
                               const std::string& error) {
  task->attempt_errors_.push_back(
      fmt::format("attempt {} ({}): {}", task->attempts_, provider_name, error));
  if (auto p = task->provider_.lock()) task->avoid_.insert(p->id());
  spdlog::debug("task {}: attempt {} on {} failed: {}", task->id(), task->attempts_, provider_name,
                error);
  if (task->attempts_ >= options_.max_attempts) {
    std::string message;
    for (const auto& e : task->attempt_errors_) message += (message.empty() ? "" : "\n") + e;
    task->trace(Event::BrokerError, message);
    finish(task, unavailable(message));
    return;
  }
  int next = task->attempts_ + 1;
  if (observer_.retry) observer_.retry(next);
  task->state_ = Task::State::kBackoff;
  backoff_.insert(task);
  children_.spawn(backoff_then_requeue(task, retry_delay(next)), "task back-off");
}

awaitable<void> Scheduler::backoff_then_requeue(std::shared_ptr<Task> task,
                                                std::chrono::milliseconds delay) {
  co_await (clock().sleep_for(delay) || task->stop_timers_.wait());
  backoff_.erase(task);
  if (task->state_ != Task::State::kBackoff) co_return;
  if (task->immediate()) {
    if (auto provider = select(*task))
      assign(task, provider);
    else
      finish(task, unavailable("qos: no idle workers for immediate mode"));
    co_return;
  }
  enqueue(task);
  kick();
}

void Scheduler::arm_deadline(const std::shared_ptr<Task>& task) {
  if (!task->deadline) return;
  // A plain timer on the task (no coroutine per task): finish() cancels it.
  auto left = *task->deadline - clock().system_now();
  task->deadline_timer_.expires_after(std::chrono::duration_cast<Clock::Duration>(left));
  task->deadline_timer_.async_wait(
      [this, weak = std::weak_ptr<Task>(task)](boost::system::error_code ec) {
        auto task = weak.lock();
        if (ec || !task || task->state_ == Task::State::kDone) return;
        cancel(task, "deadline exceeded", deadline_exceeded("deadline exceeded"));
      });
}

void Scheduler::cancel(const std::shared_ptr<Task>& task, const std::string& reason,
                       Status outcome) {
  switch (task->state_) {
    case Task::State::kDone:
      return;
    case Task::State::kQueued:
      queue_.erase(task);
      break;
    case Task::State::kBackoff:
      backoff_.erase(task);
      break;
    case Task::State::kActive:
      if (auto provider = task->provider_.lock()) {
        children_.spawn(send_cancel(task, provider, reason), "task cancel");
      } else if (task->abandon_attempt_) {
        task->abandon_attempt_->set();
      }
      break;
    case Task::State::kAdmitting:
      break;
  }
  finish(task, std::move(outcome));
}

awaitable<void> Scheduler::send_cancel(std::shared_ptr<Task> task,
                                       std::shared_ptr<ProviderSession> provider,
                                       std::string reason) {
  v1::Task::Cancel cancel;
  cancel.set_id(task->id());
  cancel.set_reason(reason);
  // The slot stays taken until the task's own Response, the Cancel's Response, or the grace
  // period, whichever comes first (docs/scheduling.md §6).
  auto abandon = task->abandon_attempt_;
  if (abandon)
    co_await (provider->messenger().call(cancel, options_.cancel_grace) || abandon->wait());
  else
    co_await provider->messenger().call(cancel, options_.cancel_grace);
  release_slot(*task);
  if (abandon) abandon->set();
}

void Scheduler::finish(const std::shared_ptr<Task>& task, std::optional<Status> error,
                       std::optional<protocol::TaskResponse> response) {
  if (task->state_ == Task::State::kDone) return;
  bool was_assigned = task->attempts_ > 0;
  task->state_ = Task::State::kDone;
  task->stop_timers_.set();
  task->deadline_timer_.cancel();
  queue_.erase(task);
  backoff_.erase(task);
  bool ok = !error.has_value();
  if (error) {
    if (task->info().has_trace() && error->code() != StatusCode::kUnavailable)
      task->trace(Event::BrokerError, error->message());
    task->error_ = std::move(error);
  } else {
    task->response_ = std::move(response);
  }
  if (observer_.completed) observer_.completed(ok, seconds_since(clock(), task->accepted));
  if (was_assigned && observer_.execution)
    observer_.execution(ok, seconds_since(clock(), task->assigned_));
  task->done_.set();
}

void Scheduler::shutdown(const std::string& reason) {
  shutting_down_ = true;
  std::vector<std::shared_ptr<Task>> all(queue_.begin(), queue_.end());
  all.insert(all.end(), backoff_.begin(), backoff_.end());
  all.insert(all.end(), active_.begin(), active_.end());
  // Running tasks get a Task.Cancel with the reason (docs/scheduling.md §6) before the registry
  // closes the connections; queued and backing-off ones are simply dropped.
  for (auto& t : all) cancel(t, reason, unavailable(reason));
}

awaitable<void> Scheduler::join(std::chrono::milliseconds grace) {
  co_await (children_.join() || clock().sleep_for(grace));
  // What is still running (a provider that does not answer a Task.Cancel) is stopped.
  children_.cancel();
  co_await children_.join();
}

}  // namespace wasimoff::broker
