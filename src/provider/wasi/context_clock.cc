// wasi::Context (wasi/context.h): what a task gets from the host besides its files: clocks,
// random_get and poll_oneoff (clock subscriptions sleep, never past the task's deadline;
// descriptor subscriptions are ready at once).
#include <sys/random.h>
#include <time.h>

#include <algorithm>
#include <cerrno>

#include "provider/wasi/context.h"
#include "provider/wasi/context_helpers.h"

namespace wasimoff::wasi {

using namespace detail;

namespace {

struct PollEvent {
  std::uint64_t userdata;
  Errno error;
  std::uint8_t type;
  std::uint64_t nbytes;
};

struct PollTimer {
  std::uint64_t userdata;
  std::int64_t mono_target;  // CLOCK_MONOTONIC ns
  Errno error;
};

struct Now {
  std::int64_t mono, real;  // CLOCK_MONOTONIC, CLOCK_REALTIME ns
};

// A clock subscription `s` (its clock fields start at `clock_at`) as a timer on CLOCK_MONOTONIC;
// an unsupported clock is a timer due now with EINVAL.
PollTimer clock_timer(const std::uint8_t* s, std::size_t clock_at, std::uint64_t userdata,
                      const Now& now) {
  std::uint32_t id;
  std::uint64_t timeout;
  std::uint16_t flags;
  std::memcpy(&id, s + clock_at, 4);
  std::memcpy(&timeout, s + clock_at + 8, 8);
  std::memcpy(&flags, s + clock_at + 24, 2);
  if (id != clockid::kRealtime && id != clockid::kMonotonic)
    return {userdata, now.mono, err::kInval};
  std::int64_t base = id == clockid::kRealtime ? now.real : now.mono;
  std::int64_t t = static_cast<std::int64_t>(std::min<std::uint64_t>(timeout, INT64_MAX / 2));
  std::int64_t remaining = (flags & kSubclockAbstime) ? t - base : t;
  return {userdata, now.mono + std::max<std::int64_t>(0, remaining), err::kSuccess};
}

// Nothing is ready: sleeps until the earliest timer (never past the task deadline; the
// supervisor kills the run at that point anyway), then reports at least the earliest timer, plus
// every other one that has expired.
void sleep_for_timers(const std::vector<PollTimer>& timers, std::optional<std::int64_t> deadline_ns,
                      const Now& now, std::vector<PollEvent>& ready) {
  std::int64_t target = INT64_MAX;
  for (const PollTimer& t : timers) target = std::min(target, t.mono_target);
  const std::int64_t earliest = target;
  if (deadline_ns) {
    std::int64_t deadline_mono = now.mono + std::max<std::int64_t>(0, *deadline_ns - now.real);
    target = std::min(target, deadline_mono);
  }
  timespec ts{static_cast<time_t>(target / 1'000'000'000),
              static_cast<long>(target % 1'000'000'000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
  const std::int64_t after = clock_ns(CLOCK_MONOTONIC);
  for (const PollTimer& t : timers)
    if (t.mono_target <= after || t.mono_target == earliest)
      ready.push_back({t.userdata, t.error, eventtype::kClock, 0});
}

void write_events(std::uint8_t* events, const std::vector<PollEvent>& ready) {
  for (std::size_t i = 0; i < ready.size(); ++i) {
    std::uint8_t* p = events + i * layout::kEventSize;
    std::memset(p, 0, layout::kEventSize);
    put_u64(p + 0, ready[i].userdata);
    put_u16(p + 8, ready[i].error);
    p[10] = ready[i].type;
    put_u64(p + 16, ready[i].nbytes);
  }
}

}  // namespace

Errno Context::clock_res_get(u32 id, u32 res_out) {
  std::optional<clockid_t> c = host_clock(id);
  if (!c) return err::kInval;
  timespec ts{};
  clock_getres(*c, &ts);
  u64 res = static_cast<u64>(ts.tv_sec) * 1'000'000'000 + static_cast<u64>(ts.tv_nsec);
  return mem().store<u64>(res_out, res) ? err::kSuccess : err::kFault;
}

Errno Context::clock_time_get(u32 id, u64 /*precision*/, u32 time_out) {
  std::optional<clockid_t> c = host_clock(id);
  if (!c) return err::kInval;
  return mem().store<u64>(time_out, static_cast<u64>(clock_ns(*c))) ? err::kSuccess : err::kFault;
}

Errno Context::random_get(u32 buf, u32 buf_len) {
  std::uint8_t* p = mem().span(buf, buf_len);
  if (!p) return err::kFault;
  std::size_t done = 0;
  while (done < buf_len) {
    ssize_t r = getrandom(p + done, buf_len - done, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return err::kIo;
    }
    done += static_cast<std::size_t>(r);
  }
  return err::kSuccess;
}

Errno Context::poll_oneoff(u32 in, u32 out, u32 nsubscriptions, u32 nevents_out, Abi abi) {
  if (nsubscriptions == 0) return err::kInval;
  // Preview 0's clock subscription starts with an `identifier` u64 (ignored, as in every
  // implementation), so its fields sit 8 bytes later and a subscription is 56 bytes, not 48.
  // The fd_readwrite variant and the event layout are the same in both.
  const bool p0 = abi == Abi::kPreview0;
  const std::size_t sub_size = p0 ? preview0::layout::kSubscriptionSize : layout::kSubscriptionSize;
  const std::size_t clock_at = p0 ? 24 : 16;
  GuestMemory m = mem();
  const std::uint8_t* subs = m.span(in, static_cast<u64>(nsubscriptions) * sub_size);
  std::uint8_t* events = m.span(out, static_cast<u64>(nsubscriptions) * layout::kEventSize);
  if (!subs || !events || !m.in_bounds(nevents_out, 4)) return err::kFault;

  std::vector<PollEvent> ready;
  std::vector<PollTimer> timers;
  const Now now{clock_ns(CLOCK_MONOTONIC), clock_ns(CLOCK_REALTIME)};
  for (u32 i = 0; i < nsubscriptions; ++i) {
    // Copy out first: `in` and `out` may overlap.
    std::uint8_t s[preview0::layout::kSubscriptionSize];
    static_assert(preview0::layout::kSubscriptionSize >= layout::kSubscriptionSize);
    std::memcpy(s, subs + static_cast<std::size_t>(i) * sub_size, sub_size);
    u64 userdata;
    std::memcpy(&userdata, s, 8);
    std::uint8_t tag = s[8];
    if (tag == eventtype::kClock) {
      timers.push_back(clock_timer(s, clock_at, userdata, now));
    } else if (tag == eventtype::kFdRead || tag == eventtype::kFdWrite) {
      u32 fd;
      std::memcpy(&fd, s + 16, 4);
      const FdEntry* e = fds_.get(fd);
      PollEvent ev{userdata, e ? err::kSuccess : err::kBadf, tag, 0};
      if (e && tag == eventtype::kFdRead) {
        if (e->kind == FdKind::kStdin)
          ev.nbytes =
              options_.stdin_data.size() - std::min<u64>(stdin_pos_, options_.stdin_data.size());
        else if (e->kind == FdKind::kFile && e->offset < e->node->size())
          ev.nbytes = e->node->size() - e->offset;
      }
      ready.push_back(ev);
    } else {
      return err::kInval;
    }
  }

  if (ready.empty()) {
    sleep_for_timers(timers, options_.deadline_ns, now, ready);
  } else {
    for (const PollTimer& t : timers)
      if (t.mono_target <= now.mono) ready.push_back({t.userdata, t.error, eventtype::kClock, 0});
  }
  write_events(events, ready);
  m.store<u32>(nevents_out, static_cast<u32>(ready.size()));
  return err::kSuccess;
}

}  // namespace wasimoff::wasi
