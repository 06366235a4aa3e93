// fuzz_webtransport: the WebTransport stream parsers on untrusted bytes: the Envelope framing of
// the message stream (message_framing.h) and the capsules of the CONNECT stream (capsule.h).
//
// Input: byte 0 chooses how the rest is split into deliveries (chunker.h). Checks:
//  * MessageDeframer never crashes, never yields a message above its maximum, keeps at most one
//    partial frame buffered (< maximum + 10 bytes) once complete messages are popped, and gives
//    the same messages and status whether the stream arrives in chunks or at once. Round trip:
//    re-framing the accepted messages gives exactly the consumed input bytes when the input used
//    shortest length prefixes (never more bytes), and deframing the re-framed bytes gives the
//    same messages.
//  * CapsuleReader never crashes, delivers only CLOSE/DRAIN capsules, never one above its
//    maximum, and is independent of the split. encode_capsule of a delivered capsule reads back
//    the same; a CLOSE value that parse_close_value accepts has a reason of at most 1024 bytes and
//    encode_close_capsule reproduces it.
//  * The raw stream as a peer's SETTINGS payload: decode never crashes and draft::negotiate
//    accepts only a peer with HTTP datagrams and WebTransport (or extended CONNECT).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chunker.h"
#include "fuzz_check.h"
#include "net/h3/settings.h"
#include "net/webtransport/capsule.h"
#include "net/webtransport/draft.h"
#include "net/webtransport/message_framing.h"

namespace {

namespace wt = wasimoff::webtransport;
using Bytes = std::span<const std::uint8_t>;

constexpr std::uint64_t kMaxMessage = 1024;
constexpr std::size_t kMaxCapsule = wt::kMaxCloseReason + 64;

Bytes as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

struct Deframed {
  std::vector<std::string> messages;
  wt::MessageDeframer::Status status = wt::MessageDeframer::Status::kOk;
  std::size_t consumed = 0;  // input bytes that belong to complete messages (status kOk only)
  bool at_boundary = true;
  bool operator==(const Deframed&) const = default;
};

template <typename NextSize>
Deframed deframe(Bytes stream, NextSize next_size) {
  Deframed out;
  wt::MessageDeframer deframer(kMaxMessage);
  std::size_t fed = 0;
  while (!stream.empty()) {
    const std::size_t n = std::min<std::size_t>(next_size(), stream.size());
    out.status = deframer.feed(stream.first(n));
    stream = stream.subspan(n);
    fed += n;
    while (deframer.has_message()) {
      out.messages.push_back(deframer.pop());
      FUZZ_CHECK(out.messages.back().size() <= kMaxMessage, "message above the maximum");
    }
    if (out.status != wt::MessageDeframer::Status::kOk) break;
    FUZZ_CHECK(deframer.buffered_bytes() < kMaxMessage + wt::kMaxLengthPrefix,
               "deframer buffers more than one partial frame");
  }
  if (out.status == wt::MessageDeframer::Status::kTooLarge)
    FUZZ_CHECK(deframer.announced_length() > kMaxMessage, "kTooLarge for a length within limit");
  if (out.status == wt::MessageDeframer::Status::kOk) {
    out.consumed = fed - deframer.buffered_bytes();
    out.at_boundary = deframer.at_boundary();
    FUZZ_CHECK(out.at_boundary == (out.consumed == fed), "at_boundary disagrees with the tail");
  }
  return out;
}

void check_framing(Bytes stream, wasimoff::fuzz::Chunker& chunker) {
  const Deframed chunked = deframe(stream, [&] { return chunker.next(); });
  const Deframed whole = deframe(stream, [&] { return stream.size(); });
  FUZZ_CHECK(chunked == whole, "MessageDeframer result depends on how the stream is split");
  if (whole.status != wt::MessageDeframer::Status::kOk) return;

  std::string reframed;
  for (const auto& m : whole.messages) wt::append_framed_message(reframed, m);
  FUZZ_CHECK(reframed.size() <= whole.consumed, "re-framing needs more bytes than the input");
  if (reframed.size() == whole.consumed) {
    FUZZ_CHECK(
        std::equal(reframed.begin(), reframed.end(), reinterpret_cast<const char*>(stream.data())),
        "re-framing changed the bytes");
  }
  const Deframed again = deframe(as_bytes(reframed), [&] { return reframed.size(); });
  FUZZ_CHECK(again.status == wt::MessageDeframer::Status::kOk && again.at_boundary &&
                 again.messages == whole.messages,
             "re-framed messages do not deframe to the same messages");
}

struct Capsules {
  std::vector<wt::Capsule> capsules;
  wt::CapsuleReader::Result result = wt::CapsuleReader::Result::kOk;
  bool at_boundary = true;
};

template <typename NextSize>
Capsules read_capsules(Bytes stream, NextSize next_size) {
  Capsules out;
  wt::CapsuleReader reader(kMaxCapsule);
  auto sink = [&](wt::Capsule c) {
    FUZZ_CHECK(
        c.type == wt::draft::kCapsuleCloseSession || c.type == wt::draft::kCapsuleDrainSession,
        "unknown capsule type delivered");
    FUZZ_CHECK(c.value.size() <= kMaxCapsule, "capsule above the maximum delivered");
    out.capsules.push_back(std::move(c));
  };
  while (!stream.empty()) {
    const std::size_t n = std::min<std::size_t>(next_size(), stream.size());
    out.result = reader.feed(stream.first(n), sink);
    stream = stream.subspan(n);
    if (out.result != wt::CapsuleReader::Result::kOk) break;
  }
  out.at_boundary = reader.at_boundary();
  return out;
}

bool same(const Capsules& a, const Capsules& b) {
  if (a.result != b.result || a.capsules.size() != b.capsules.size()) return false;
  if (a.result == wt::CapsuleReader::Result::kOk && a.at_boundary != b.at_boundary) return false;
  for (std::size_t i = 0; i < a.capsules.size(); ++i) {
    if (a.capsules[i].type != b.capsules[i].type || a.capsules[i].value != b.capsules[i].value)
      return false;
  }
  return true;
}

void check_capsules(Bytes stream, wasimoff::fuzz::Chunker& chunker) {
  const Capsules chunked = read_capsules(stream, [&] { return chunker.next(); });
  const Capsules whole = read_capsules(stream, [&] { return stream.size(); });
  FUZZ_CHECK(same(chunked, whole), "CapsuleReader result depends on how the stream is split");

  for (const auto& c : whole.capsules) {
    const std::string encoded = wt::encode_capsule(c.type, c.value);
    const Capsules again = read_capsules(as_bytes(encoded), [&] { return encoded.size(); });
    FUZZ_CHECK(again.result == wt::CapsuleReader::Result::kOk && again.at_boundary &&
                   again.capsules.size() == 1 && again.capsules[0].type == c.type &&
                   again.capsules[0].value == c.value,
               "capsule round trip failed");
    if (c.type != wt::draft::kCapsuleCloseSession) continue;
    auto close = wt::parse_close_value(c.value);
    if (!close) continue;
    FUZZ_CHECK(close->reason.size() <= wt::kMaxCloseReason, "close reason above 1024 accepted");
    FUZZ_CHECK(wt::encode_close_capsule(close->code, close->reason) == encoded,
               "CLOSE_WEBTRANSPORT_SESSION round trip failed");
  }
}

void check_peer_settings(std::string_view payload) {
  std::string error;
  auto settings = wasimoff::h3::decode_settings_payload(payload, &error);
  if (!settings) return;
  if (wt::draft::negotiate(*settings) == wt::draft::Version::kNone) return;
  const auto flag = [&](std::uint64_t id) { return settings->get(id).value_or(0) == 1; };
  FUZZ_CHECK(
      flag(wasimoff::h3::setting::kH3Datagram) || flag(wasimoff::h3::setting::kH3DatagramDraft04),
      "WebTransport negotiated without HTTP datagrams");
  FUZZ_CHECK(flag(wt::draft::kSettingEnableWebTransport) ||
                 flag(wasimoff::h3::setting::kEnableConnectProtocol),
             "WebTransport negotiated without WebTransport support");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const Bytes stream(data + 1, size - 1);
  wasimoff::fuzz::Chunker framing_chunker(data[0]);
  check_framing(stream, framing_chunker);
  wasimoff::fuzz::Chunker capsule_chunker(data[0]);
  check_capsules(stream, capsule_chunker);
  check_peer_settings(
      std::string_view(reinterpret_cast<const char*>(stream.data()), stream.size()));
  return 0;
}
