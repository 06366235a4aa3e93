// The Broker's scheduler (docs/scheduling.md): a bounded priority queue, a dispatcher that assigns
// tasks to registered providers with free slots (file affinity, fair tie-breaking), retries of
// transport-level failures with back-off, deadlines, and cancellation.
//
// Threading: everything runs on the loop. One dispatcher owns the queue and every provider's
// active counter; nothing is locked, nothing is held across I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "broker/providers/provider_registry.h"
#include "broker/tasks/placement.h"
#include "broker/tasks/task.h"
#include "common/clock.h"
#include "common/task_group.h"

namespace wasimoff::broker {

// Hooks into the metrics (docs/http-api.md §7); all optional.
struct SchedulerObserver {
  std::function<void(double seconds)> scheduled;           // accepted → assigned
  std::function<void(bool ok, double seconds)> completed;  // accepted → done
  std::function<void(bool ok, double seconds)> execution;  // last assignment → done
  std::function<void(int attempt)> retry;                  // attempt 2…10
  std::function<void()> attempt_timed_out;                 // WASIMOFF_ATTEMPT_TIMEOUT hit
  std::function<void()> provider_closed_for_timeouts;      // strikes reached
  std::function<void()> module_refused;  // a provider refused a task's module (no attempt)
};

class Scheduler {
 public:
  // An attempt whose provider's connection was closed because it sent a message larger than
  // WASIMOFF_MAX_MESSAGE_SIZE fails with kResourceExhausted ("output too large: …"), as does a
  // provider's own "output too large" answer. Retrying cannot make a result smaller: after
  // kMaxOversizedAttempts such attempts (the first close may have hit a task that merely shared
  // the connection) the task ends with this error as its application-level result, as a
  // provider that knows the limit would answer.
  static constexpr int kMaxOversizedAttempts = 2;
  // Refusals of one task's module (docs/scheduling.md §3) beyond this many count as failed
  // attempts, so a provider that reconnects to refuse again and again cannot bounce a task without
  // bound.
  static constexpr int kMaxRefusals = 64;

  struct Options {
    std::size_t queue_size = 2048;
    int max_attempts = 10;
    std::chrono::milliseconds cancel_grace =
        std::chrono::seconds(10);  // slot held after Task.Cancel
    // WASIMOFF_ATTEMPT_TIMEOUT: an attempt without a result after this long is cancelled on its
    // provider and retried elsewhere (zero = no bound). Never outlasts the task's deadline.
    std::chrono::milliseconds attempt_timeout{0};
    // This many timed-out attempts in a row (no task result in between) close the provider.
    int max_timeout_strikes = 3;
    // Which provider gets a task; nullptr = CapabilityAwarePlacement.
    std::shared_ptr<const PlacementStrategy> placement;
    // Time for back-offs, deadlines and the observer's durations (tests: a ManualClock). Tasks
    // given to the Scheduler are made with the same clock (Task's constructor).
    Clock* clock = &Clock::real();
  };

  Scheduler(asio::any_io_executor ex, ProviderRegistry& registry, Options options,
            SchedulerObserver observer = {});

  // Next task or job id from the global counter ("1", "2", …).
  std::string next_id() { return std::to_string(next_id_++); }

  // Admission steps 3–6 of docs/scheduling.md §2 for a task whose metadata and files are already
  // set (steps 1–2 are the API layer's). On error nothing is scheduled.
  std::optional<Status> admit(const std::shared_ptr<Task>& task);
  // Jobs: admits every task or none (queue room is checked for all non-immediate tasks first).
  std::optional<Status> admit_all(const std::vector<std::shared_ptr<Task>>& tasks);

  // Cancels a task in any state (no-op when done). `outcome` is what the waiting client gets;
  // `reason` goes into Task.Cancel for an active task.
  void cancel(const std::shared_ptr<Task>& task, const std::string& reason, Status outcome);

  // Fails every queued, backing-off and active task with `unavailable` (Broker shutdown);
  // active tasks are cancelled on their provider with `reason`.
  void shutdown(const std::string& reason);
  // After shutdown() and the providers' connections closing: waits up to `grace` for the
  // scheduler's own coroutines (attempts, back-offs, Task.Cancel sends) to end, then cancels the
  // rest and waits for them. The Scheduler may be destroyed when this returns.
  awaitable<void> join(std::chrono::milliseconds grace);

  std::size_t queued() const { return queue_.size(); }
  std::size_t dispatching() const { return backoff_.size(); }
  std::size_t active() const;

  asio::any_io_executor executor() const { return ex_; }
  Clock& clock() const { return *options_.clock; }

 private:
  struct QueueOrder {
    bool operator()(const std::shared_ptr<Task>& a, const std::shared_ptr<Task>& b) const {
      if (a->priority() != b->priority()) return a->priority();
      return a->admission_seq_ < b->admission_seq_;
    }
  };

  void kick();  // schedules one dispatch() soon (coalesced)
  void dispatch();
  std::shared_ptr<ProviderSession> select(Task& task) const;
  bool any_candidate(Task& task) const;
  // True when `provider` refused `task`'s module or announced capabilities that rule it out.
  bool excluded(const Task& task, const ProviderSession& provider) const;
  // The application-level result that ends `task` at once because no registered provider that
  // supports its kind may still run its module (docs/scheduling.md §3); nullopt while one may, and
  // when no registered provider supports the kind at all (the task waits, §2).
  std::optional<std::string> unplaceable(const Task& task) const;
  // A provider answered `task` with a module refusal: remember it, place the task elsewhere.
  void module_refused(const std::shared_ptr<Task>& task,
                      const std::shared_ptr<ProviderSession>& provider, const std::string& error);
  void assign(const std::shared_ptr<Task>& task, const std::shared_ptr<ProviderSession>& provider);
  awaitable<void> run_attempt(std::shared_ptr<Task> task,
                              std::shared_ptr<ProviderSession> provider);
  // Cancels the task with `deadline exceeded` at its deadline (if it has one) unless it is done.
  void arm_deadline(const std::shared_ptr<Task>& task);
  awaitable<void> backoff_then_requeue(std::shared_ptr<Task> task, std::chrono::milliseconds delay);
  awaitable<void> send_cancel(std::shared_ptr<Task> task, std::shared_ptr<ProviderSession> provider,
                              std::string reason);
  // The bound for the next attempt of `task`: attempt_timeout, or zero when there is none or the
  // task's deadline comes first (the deadline then ends the attempt, as before).
  std::chrono::milliseconds attempt_limit(const Task& task) const;
  // An attempt got no result in time: cancel it on the provider (which keeps the slot until it
  // confirms or the grace passes), strike the provider, retry the task elsewhere.
  void attempt_timed_out(const std::shared_ptr<Task>& task,
                         const std::shared_ptr<ProviderSession>& provider);
  awaitable<void> cancel_timed_out_attempt(std::shared_ptr<ProviderSession> provider,
                                           std::string task_id);
  void attempt_failed(const std::shared_ptr<Task>& task, const std::string& provider_name,
                      const std::string& error);
  // Ends the task with `error` as its application-level result (Response.error), like a
  // provider answering with an error: the client gets a normal response, not an RPC error.
  void finish_with_application_error(const std::shared_ptr<Task>& task,
                                     const std::string& provider_name, const std::string& error);
  void release_slot(Task& task);
  void enqueue(const std::shared_ptr<Task>& task);
  void finish(const std::shared_ptr<Task>& task, std::optional<Status> error,
              std::optional<protocol::TaskResponse> response = std::nullopt);

  asio::any_io_executor ex_;
  // Every coroutine the scheduler starts (attempts, back-offs, cancels) belongs to it; join().
  TaskGroup children_{ex_};
  ProviderRegistry& registry_;
  Options options_;
  SchedulerObserver observer_;
  std::shared_ptr<const PlacementStrategy> placement_;
  std::set<std::shared_ptr<Task>, QueueOrder> queue_;
  std::set<std::shared_ptr<Task>> active_;  // assigned, waiting for the provider
  std::set<std::shared_ptr<Task>> backoff_;
  std::uint64_t next_id_ = 1;
  std::uint64_t next_admission_ = 1;
  std::uint64_t assignment_counter_ = 0;
  bool dispatch_pending_ = false;
  bool shutting_down_ = false;
};

// Back-off before attempt `attempt` (2…10): 10 ms × 10^((attempt−2)/4).
std::chrono::milliseconds retry_delay(int attempt);

}  // namespace wasimoff::broker
