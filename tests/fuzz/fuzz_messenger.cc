// fuzz_messenger: the Messenger (protocol/messenger.h) fed with untrusted Envelopes through the
// in-memory transport pair (protocol/memory_transport.h), as a Broker's provider session or a
// provider's link receives them from its peer.
//
// Input: byte 0 sets up the Messenger under test: bits 0-1 the number of calls it makes before
// reading anything (0-3, sequences 1-3), bits 2-4 its send queue bound (1-8 messages), bit 5 the
// transport capacity (1 or 8). The rest is a list of records, each a 2-byte little-endian length
// and that many bytes; a record that decodes as a binary Envelope is sent by the peer end, in
// order. The peer end reads everything the Messenger sends meanwhile; at the end it closes.
// The Messenger serves Ping (answered, plus a "latest value" Throughput event), Task.Cancel
// (throws) and Probe (fails); it counts the events it receives.
//
// Checks, for every input (all on one io_context, no clock involved):
//  * nothing crashes, and everything finishes: the Messenger is closed, no call is pending, its
//    reader has ended, every call returned;
//  * the Messenger's own calls return only what the peer said: an ok result only when the peer
//    sent a Response with that sequence and no error, an error other than the disconnect error
//    only when the peer sent exactly that error for that sequence;
//  * every Response the Messenger sends answers a Request the peer sent (sequence and count), and
//    every Request it sends is one of its own calls (sequences 1-3).
#include <google/protobuf/stubs/logging.h>
#include <spdlog/spdlog.h>

#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "protocol/codec.h"
#include "protocol/memory_transport.h"
#include "protocol/messenger.h"

namespace {

using namespace wasimoff;
using protocol::Messenger;
using protocol::Reply;
using v1::Envelope;

constexpr std::string_view kDisconnect = "peer gone";

struct Run {
  // What the peer sent: Request sequences (with count), Responses by sequence (first one wins).
  std::multiset<std::uint64_t> requests_sent;
  std::map<std::uint64_t, Envelope> responses_sent;
  // What the Messenger sent.
  std::vector<Envelope> received;
  std::vector<protocol::CallResult> results;
  std::vector<std::uint64_t> call_seqs;
  int calls_done = 0;
  int events = 0;
  bool peer_done = false;
  bool peer_reader_done = false;
};

awaitable<void> call(std::shared_ptr<Messenger> m, Run& run, std::size_t index) {
  auto r = co_await m->call(v1::Ping());
  run.results[index] = std::move(r);
  ++run.calls_done;
}

awaitable<void> peer_reader(protocol::Transport& peer, Run& run) {
  while (auto env = co_await peer.receive()) run.received.push_back(std::move(*env));
  run.peer_reader_done = true;
}

awaitable<void> peer_writer(protocol::Transport& peer, Run& run, std::string_view records) {
  while (records.size() >= 2) {
    std::size_t n = static_cast<unsigned char>(records[0]) |
                    (static_cast<std::size_t>(static_cast<unsigned char>(records[1])) << 8);
    records.remove_prefix(2);
    n = std::min(n, records.size());
    Envelope env;
    const bool ok = protocol::decode(records.substr(0, n), protocol::Codec::kBinary, &env).empty();
    records.remove_prefix(n);
    if (!ok) continue;
    if (env.type() == Envelope::Request) run.requests_sent.insert(env.sequence());
    if (env.type() == Envelope::Response) run.responses_sent.emplace(env.sequence(), env);
    try {
      co_await peer.send(env);
    } catch (const boost::system::system_error&) {
      break;  // the Messenger closed the transport
    }
  }
  // Let the Messenger answer what it can before the peer goes away.
  for (int i = 0; i < 16; ++i)
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  peer.close(protocol::CloseCode::kNormal, "done");
  run.peer_done = true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = [] {
    spdlog::set_level(spdlog::level::off);
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  if (size < 1) return 0;
  const int calls = data[0] & 3;
  const std::size_t queue_bound = 1 + ((data[0] >> 2) & 7);
  const std::size_t capacity = (data[0] & 0x20) ? 8 : 1;
  const std::string_view records(reinterpret_cast<const char*>(data) + 1, size - 1);

  asio::io_context io;
  auto [mine, peer] = protocol::make_memory_transport_pair(io.get_executor(), capacity);
  Messenger::Options options;
  options.name = "fuzz";
  options.disconnect_error = std::string(kDisconnect);
  options.max_queued_messages = queue_bound;
  auto m = std::make_shared<Messenger>(io.get_executor(), std::move(mine), options);
  Run run;
  Messenger* raw = m.get();
  m->serve<v1::Ping>([raw](v1::Ping&) -> awaitable<Reply> {
    v1::Event::Throughput t;
    t.set_overall(1);
    raw->send_latest_event(t);
    co_return Reply::with(v1::Ping());
  });
  m->serve<v1::Task::Cancel>([](v1::Task::Cancel&) -> awaitable<Reply> {
    throw std::runtime_error("handler failed");
    co_return Reply::fail("unreachable");
  });
  m->serve<v1::Filesystem::Probe::Request>(
      [](v1::Filesystem::Probe::Request&) -> awaitable<Reply> { co_return Reply::fail("no"); });
  m->on_event([&run](const google::protobuf::Message&) { ++run.events; });
  m->start();

  run.results.resize(static_cast<std::size_t>(calls));
  for (int i = 0; i < calls; ++i)
    asio::co_spawn(io, call(m, run, static_cast<std::size_t>(i)), asio::detached);
  asio::co_spawn(io, peer_reader(*peer, run), asio::detached);
  asio::co_spawn(io, peer_writer(*peer, run, records), asio::detached);
  io.run();

  FUZZ_CHECK(run.peer_done && run.peer_reader_done, "the peer did not finish");
  FUZZ_CHECK(m->is_closed(), "the Messenger is still open after the peer closed");
  FUZZ_CHECK(m->reader_finished().is_set(), "the Messenger's reader did not end");
  FUZZ_CHECK(m->pending_calls() == 0, "calls still pending after close");
  FUZZ_CHECK(run.calls_done == calls, "a call did not return");

  // The calls got sequences 1..calls, in spawn order.
  for (int i = 0; i < calls; ++i) {
    const auto& r = run.results[static_cast<std::size_t>(i)];
    auto it = run.responses_sent.find(static_cast<std::uint64_t>(i + 1));
    if (r.ok()) {
      FUZZ_CHECK(it != run.responses_sent.end() && it->second.error().empty(),
                 "a call succeeded without an answer from the peer");
    } else if (r.error() != kDisconnect) {
      FUZZ_CHECK(it != run.responses_sent.end() && it->second.error() == r.error(),
                 "a call failed with an error the peer did not send");
    }
  }
  std::multiset<std::uint64_t> answered;
  for (const auto& env : run.received) {
    if (env.type() == Envelope::Response) {
      answered.insert(env.sequence());
      FUZZ_CHECK(answered.count(env.sequence()) <= run.requests_sent.count(env.sequence()),
                 "a Response to a Request the peer did not send");
    } else if (env.type() == Envelope::Request) {
      FUZZ_CHECK(env.sequence() >= 1 && env.sequence() <= static_cast<std::uint64_t>(calls),
                 "a Request that is not one of the Messenger's calls");
    }
  }
  return 0;
}
