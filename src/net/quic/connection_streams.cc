// Stream bookkeeping of a QUIC connection: opening local streams, the per-stream send queues
// (data owned here until acknowledged, see connection.h), flow-control credit for received data,
// stream resets, and the ngtcp2 stream callbacks that update those queues and notify the
// Application.
//
// Called by the Application (open/send/consume/reset) and by ngtcp2 from inside
// ngtcp2_conn_read_pkt / ngtcp2_conn_writev_stream (callbacks). Invariants: total_buffered_ is the
// sum of (queued - acked) over streams_; a stream is in pending_ only while it has unsent bytes
// or an unsent FIN, is not flow-control blocked and not shut. Writing itself is in
// connection_writer.cc.
#include <algorithm>

#include "net/quic/connection.h"

namespace wasimoff::quic {

std::optional<std::int64_t> Connection::open_bidi_stream() {
  if (state_ != State::kOpen) return std::nullopt;
  std::int64_t id = -1;
  if (ngtcp2_conn_open_bidi_stream(conn_, &id, nullptr) != 0) return std::nullopt;
  streams_[id];
  return id;
}

std::optional<std::int64_t> Connection::open_uni_stream() {
  if (state_ != State::kOpen) return std::nullopt;
  std::int64_t id = -1;
  if (ngtcp2_conn_open_uni_stream(conn_, &id, nullptr) != 0) return std::nullopt;
  streams_[id];
  return id;
}

void Connection::send(std::int64_t stream_id, std::string bytes, bool fin) {
  if (state_ != State::kOpen) return;
  auto& q = streams_[stream_id];
  if (q.shut || q.fin_queued) return;
  if (!bytes.empty()) {
    q.queued += bytes.size();
    total_buffered_ += bytes.size();
    q.chunks.push_back(std::move(bytes));
  }
  if (fin) q.fin_queued = true;
  if (!q.blocked) pending_.insert(stream_id);
  schedule_write();
}

std::size_t Connection::buffered(std::int64_t stream_id) const {
  auto it = streams_.find(stream_id);
  return it == streams_.end() ? 0 : static_cast<std::size_t>(it->second.queued - it->second.acked);
}

void Connection::consume(std::int64_t stream_id, std::size_t n) {
  if (state_ != State::kOpen || n == 0) return;
  ngtcp2_conn_extend_max_stream_offset(conn_, stream_id, n);
  ngtcp2_conn_extend_max_offset(conn_, n);
  schedule_write();
}

void Connection::reset_stream(std::int64_t stream_id, std::uint64_t app_error_code) {
  if (state_ != State::kOpen) return;
  if (auto it = streams_.find(stream_id); it != streams_.end()) it->second.shut = true;
  pending_.erase(stream_id);
  ngtcp2_conn_shutdown_stream_write(conn_, stream_id, app_error_code);
  schedule_write();
}

void Connection::stop_sending(std::int64_t stream_id, std::uint64_t app_error_code) {
  if (state_ != State::kOpen) return;
  ngtcp2_conn_shutdown_stream_read(conn_, stream_id, app_error_code);
  schedule_write();
}

void Connection::forget_stream(std::int64_t sid) {
  if (auto it = streams_.find(sid); it != streams_.end()) {
    total_buffered_ -= std::min<std::size_t>(total_buffered_, it->second.queued - it->second.acked);
    streams_.erase(it);
  }
  pending_.erase(sid);
}

// ---------------------------------------------------------------------------------------------
// Stream callbacks

int Connection::cb_recv_stream_data(ngtcp2_conn*, uint32_t flags, int64_t sid, uint64_t,
                                    const uint8_t* data, size_t len, void* user, void*) {
  auto* self = static_cast<Connection*>(user);
  if (self->app_)
    self->app_->on_stream_data(sid, {data, len}, (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0);
  return 0;
}

int Connection::cb_acked(ngtcp2_conn*, int64_t sid, uint64_t, uint64_t len, void* user, void*) {
  auto* self = static_cast<Connection*>(user);
  auto it = self->streams_.find(sid);
  if (it == self->streams_.end()) return 0;
  auto& q = it->second;
  q.acked += len;
  self->total_buffered_ -= std::min<std::size_t>(self->total_buffered_, len);
  std::size_t left = len;
  while (left > 0 && !q.chunks.empty()) {
    const std::size_t in_front = q.chunks.front().size() - q.front_acked;
    if (left >= in_front) {
      left -= in_front;
      q.chunks.pop_front();
      q.front_acked = 0;
    } else {
      q.front_acked += left;
      left = 0;
    }
  }
  if (self->app_) self->app_->on_send_progress(sid);
  return 0;
}

int Connection::cb_stream_close(ngtcp2_conn*, uint32_t, int64_t sid, uint64_t, void* user, void*) {
  auto* self = static_cast<Connection*>(user);
  self->forget_stream(sid);
  if (self->is_remote_stream(sid)) {
    if (sid & 0x2)
      ngtcp2_conn_extend_max_streams_uni(self->conn_, 1);
    else
      ngtcp2_conn_extend_max_streams_bidi(self->conn_, 1);
  }
  if (self->app_) self->app_->on_stream_closed(sid);
  return 0;
}

int Connection::cb_stream_reset(ngtcp2_conn*, int64_t sid, uint64_t, uint64_t code, void* user,
                                void*) {
  auto* self = static_cast<Connection*>(user);
  if (self->app_) self->app_->on_stream_reset(sid, code);
  return 0;
}

int Connection::cb_stream_open(ngtcp2_conn*, int64_t, void*) {
  // Registered so that ngtcp2 counts every remote stream as opened; credit for a new stream is
  // then always returned by us in cb_stream_close (ngtcp2 0.12 does not do it automatically).
  return 0;
}

int Connection::cb_extend_max_stream_data(ngtcp2_conn*, int64_t sid, uint64_t, void* user, void*) {
  auto* self = static_cast<Connection*>(user);
  if (auto it = self->streams_.find(sid); it != self->streams_.end() && it->second.blocked) {
    it->second.blocked = false;
    auto& q = it->second;
    if (!q.shut && (q.sent < q.queued || (q.fin_queued && !q.fin_sent))) self->pending_.insert(sid);
  }
  if (self->app_) self->app_->on_send_progress(sid);
  return 0;
}

}  // namespace wasimoff::quic
