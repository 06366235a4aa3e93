// Writing side of a QUIC connection: the batched write pass, which packs pending stream data
// (round-robin over pending_, starting after the last stream written) into packets through
// ngtcp2_conn_writev_stream and hands them to the owner, and the ngtcp2 expiry timer.
//
// Called from the loop only: schedule_write() posts one write() per batch (send(), consume(),
// close(), received packets all schedule); on_timer() runs on ngtcp2's expiry. Invariants: one
// pass sends at most the congestion controller's send quantum (clamped to 1..64 packets) and
// then arms the timer; while the owner's socket is full (write_blocked_) nothing is written
// until resume_writing(); error paths that end the connection return without re-arming.
#include <algorithm>

#include "net/quic/connection.h"
#include "net/quic/connection_internal.h"

namespace wasimoff::quic {

void Connection::schedule_write() {
  if (write_scheduled_ || state_ != State::kOpen) return;
  write_scheduled_ = true;
  asio::post(ex_, [weak = weak_from_this()] {
    if (auto self = weak.lock()) {
      self->write_scheduled_ = false;
      self->write();
    }
  });
}

void Connection::resume_writing() {
  write_blocked_ = false;
  schedule_write();
}

bool Connection::has_pending_stream(std::int64_t* sid) {
  if (pending_.empty()) return false;
  auto it = pending_.upper_bound(last_written_);
  if (it == pending_.end()) it = pending_.begin();
  *sid = *it;
  return true;
}

void Connection::account_sent(std::int64_t sid, ngtcp2_ssize n, bool fin_flag) {
  auto it = streams_.find(sid);
  if (it == streams_.end() || n < 0) return;
  auto& q = it->second;
  q.sent += static_cast<std::uint64_t>(n);
  if (fin_flag && q.sent == q.queued) q.fin_sent = true;
  if (q.sent == q.queued && (!q.fin_queued || q.fin_sent)) pending_.erase(sid);
}

void Connection::write() {
  if (state_ != State::kOpen) return;
  if (close_requested_) {
    close_requested_ = false;
    send_close_packet();
    return;
  }
  if (write_blocked_) return;
  const ngtcp2_tstamp ts = now();
  const std::size_t max_udp = ngtcp2_conn_get_path_max_tx_udp_payload_size(conn_);
  const std::size_t quantum = ngtcp2_conn_get_send_quantum(conn_);
  const std::size_t max_packets = std::clamp<std::size_t>(quantum / max_udp, 1, 64);
  packet_.resize(std::max<std::size_t>(max_udp, NGTCP2_MAX_UDP_PAYLOAD_SIZE));
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  std::size_t packets = 0;
  ngtcp2_vec vec[16];
  for (;;) {
    std::int64_t sid = -1;
    std::size_t nvec = 0;
    bool fin = false;
    if (has_pending_stream(&sid)) nvec = collect_unsent(sid, vec, std::size(vec), fin);
    std::uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
    if (fin) flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
    ngtcp2_pkt_info pi{};
    ngtcp2_ssize ndatalen = -1;
    const auto nwrite = ngtcp2_conn_writev_stream(conn_, &ps.path, &pi, packet_.data(), max_udp,
                                                  &ndatalen, flags, sid, vec, nvec, ts);
    if (nwrite < 0) {
      if (on_write_error(sid, nwrite, ndatalen, fin)) continue;
      return;
    }
    if (sid >= 0 && ndatalen >= 0) {
      account_sent(sid, ndatalen, fin);
      last_written_ = sid;
    }
    if (nwrite == 0) break;
    if (!transmit(ps.path, static_cast<std::size_t>(nwrite))) break;
    if (++packets >= max_packets) break;
  }
  ngtcp2_conn_update_pkt_tx_time(conn_, ts);
  arm_timer();
}

std::size_t Connection::collect_unsent(std::int64_t sid, ngtcp2_vec* vec, std::size_t max_vec,
                                       bool& fin) {
  auto& q = streams_[sid];
  std::size_t nvec = 0;
  std::uint64_t offset = q.acked - q.front_acked;  // stream offset of chunks.front()
  for (auto& chunk : q.chunks) {
    const std::uint64_t end = offset + chunk.size();
    if (end > q.sent) {
      const std::size_t skip = q.sent > offset ? static_cast<std::size_t>(q.sent - offset) : 0;
      vec[nvec].base = reinterpret_cast<std::uint8_t*>(chunk.data()) + skip;
      vec[nvec].len = chunk.size() - skip;
      if (++nvec == max_vec) break;
    }
    offset = end;
  }
  fin = q.fin_queued && !q.fin_sent;
  return nvec;
}

bool Connection::on_write_error(std::int64_t sid, ngtcp2_ssize nwrite, ngtcp2_ssize ndatalen,
                                bool fin) {
  if (nwrite == NGTCP2_ERR_STREAM_DATA_BLOCKED) {
    streams_[sid].blocked = true;
    pending_.erase(sid);
    return true;
  }
  if (nwrite == NGTCP2_ERR_STREAM_NOT_FOUND) {
    // Written to after QUIC forgot the stream (closed or reset): drop the data.
    forget_stream(sid);
    return true;
  }
  if (nwrite == NGTCP2_ERR_STREAM_SHUT_WR) {
    // The peer sent STOP_SENDING (ngtcp2 answered with RESET_STREAM), or we reset it.
    auto& q = streams_[sid];
    const bool by_peer = !q.shut;
    q.shut = true;
    pending_.erase(sid);
    if (by_peer && app_) app_->on_stop_sending(sid, 0);
    return state_ == State::kOpen;
  }
  if (nwrite == NGTCP2_ERR_WRITE_MORE) {
    account_sent(sid, ndatalen, fin);
    last_written_ = sid;
    return true;
  }
  handle_error(static_cast<int>(nwrite));
  return false;
}

bool Connection::transmit(const ngtcp2_path& path, std::size_t len) {
  const auto res = owner_.send_packet(detail::from_ngtcp2(path.local),
                                      detail::from_ngtcp2(path.remote), {packet_.data(), len});
  if (res == ConnectionOwner::SendResult::kWouldBlock) {
    // The packet counts as lost; QUIC recovers it. Resume once the socket drains.
    write_blocked_ = true;
    owner_.wait_writable(*this);
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Timers

void Connection::arm_timer() {
  if (state_ != State::kOpen) return;
  const ngtcp2_tstamp expiry = ngtcp2_conn_get_expiry(conn_);
  if (expiry == UINT64_MAX) return;
  auto when = std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::nanoseconds(expiry)));
  // After write() there is nothing ngtcp2 could send right now (it writes due ACKs and probes
  // itself), so an expiry that is already here or a few microseconds away is the pacer's next
  // send time. With no stream data waiting, that wake-up has nothing to do, yet it cost a timer
  // fire and two timerfd_settime() per packet (most of the QUIC path's syscalls for small
  // tasks). Such a timer is deferred by at most kIdleTimerFloor; an ACK or loss timer falling due
  // in that window is handled that much later, well within max_ack_delay.
  if (pending_.empty()) {
    const auto floor = std::chrono::steady_clock::now() + kIdleTimerFloor;
    if (when < floor) when = floor;
  }
  // The expiry moves later with almost every packet (loss detection, idle timeout). Re-arming
  // for each one cost a cancelled handler and a timerfd_settime() per packet; a pending wait
  // that fires before the current expiry is harmless instead: on_timer() lets ngtcp2 handle
  // what has expired (possibly nothing) and arms again for the then-current expiry.
  if (timer_armed_for_ <= when) return;
  timer_armed_for_ = when;
  timer_.expires_at(when);
  timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    if (ec) return;  // re-armed earlier (that wait owns timer_armed_for_) or closed
    if (auto self = weak.lock()) {
      self->timer_armed_for_ = std::chrono::steady_clock::time_point::max();
      self->on_timer();
    }
  });
}

void Connection::on_timer() {
  if (state_ != State::kOpen) return;
  const int rv = ngtcp2_conn_handle_expiry(conn_, now());
  if (rv != 0) {
    handle_error(rv);
    return;
  }
  write();
}

}  // namespace wasimoff::quic
