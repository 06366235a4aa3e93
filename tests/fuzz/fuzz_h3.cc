// fuzz_h3: the HTTP/3 parsers of net/h3 on untrusted bytes, as a peer sends them on a request or
// control stream.
//
// Input: byte 0 chooses how the rest is split into deliveries (chunker.h); the rest is a stream
// of HTTP/3 frames. Checks:
//  * FrameReader never crashes, never hands out a buffered frame above its limit, never calls
//    on_data with an empty chunk, never produces more DATA bytes than it was given, and reports
//    kFrameTooLarge only for lengths above the limit. It gives the same frames, DATA and result
//    whether the stream arrives in chunks or at once (GOAWAY stops parsing, to cover kStopped).
//  * SETTINGS payloads (from frames, and the raw stream itself): decode never crashes; accepted
//    settings have no repeated or HTTP/2-only identifier, and encode → decode gives them back.
//  * HEADERS payloads (from frames, and the raw stream itself) through QpackDecoder: never
//    crashes, the decoded section stays within max_field_section_size, and QpackEncoder →
//    QpackDecoder gives the same fields back. Decoded sections go to parse_request_head; an
//    accepted request keeps its invariants, and request_fields → parse_request_head gives the
//    same request line back. parse_response_status never crashes and accepts only 100–999.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chunker.h"
#include "fuzz_check.h"
#include "net/h3/frame.h"
#include "net/h3/qpack.h"
#include "net/h3/request_head.h"
#include "net/h3/settings.h"

namespace {

namespace h3 = wasimoff::h3;

constexpr std::size_t kMaxBufferedPayload = 1024;
constexpr std::size_t kMaxFieldSection = 2048;

std::size_t section_size(const h3::HeaderList& fields) {
  std::size_t n = 0;
  for (const auto& f : fields) n += f.name.size() + f.value.size() + 32;
  return n;
}

void check_settings(std::string_view payload) {
  std::string error;
  auto settings = h3::decode_settings_payload(payload, &error);
  if (!settings) {
    FUZZ_CHECK(!error.empty(), "rejected SETTINGS without a reason");
    return;
  }
  for (std::size_t i = 0; i < settings->entries.size(); ++i) {
    const auto id = settings->entries[i].first;
    FUZZ_CHECK(id < 0x02 || id > 0x05, "HTTP/2-only SETTINGS identifier accepted");
    for (std::size_t j = 0; j < i; ++j)
      FUZZ_CHECK(settings->entries[j].first != id, "repeated SETTINGS identifier accepted");
  }
  auto again = h3::decode_settings_payload(h3::encode_settings_payload(*settings), &error);
  FUZZ_CHECK(again && again->entries == settings->entries, "SETTINGS round trip failed");
}

void check_request_head(const h3::HeaderList& fields) {
  std::string error;
  auto head = h3::parse_request_head(fields, &error);
  if (!head) {
    FUZZ_CHECK(!error.empty(), "rejected request head without a reason");
    return;
  }
  const auto& req = head->request;
  FUZZ_CHECK(!req.method.empty(), "request without :method accepted");
  FUZZ_CHECK(req.version == "HTTP/3", "request version is not HTTP/3");
  FUZZ_CHECK(req.target.substr(0, req.path.size()) == req.path, "path is not a prefix of target");
  const bool plain_connect = req.method == "CONNECT" && head->protocol.empty();
  if (plain_connect) return;  // request_fields always adds :scheme and :path
  FUZZ_CHECK(!req.scheme.empty() && !req.target.empty(), "request without :scheme/:path accepted");
  auto again = h3::parse_request_head(h3::request_fields(req, head->protocol), &error);
  FUZZ_CHECK(again.has_value(), "request_fields of an accepted request is rejected");
  FUZZ_CHECK(again->request.method == req.method && again->request.target == req.target &&
                 again->request.path == req.path && again->request.query == req.query &&
                 again->request.scheme == req.scheme && again->request.authority == req.authority &&
                 again->protocol == head->protocol,
             "request head round trip changed the request line");
}

void check_field_section(std::string_view block) {
  h3::QpackDecoder decoder(kMaxFieldSection);
  std::string error;
  auto fields = decoder.decode(0, block, &error);
  if (!fields) {
    FUZZ_CHECK(!error.empty(), "rejected field section without a reason");
    return;
  }
  FUZZ_CHECK(section_size(*fields) <= kMaxFieldSection, "field section above the limit accepted");

  h3::QpackEncoder encoder;
  const std::string encoded = encoder.encode(0, *fields);
  h3::QpackDecoder fresh(kMaxFieldSection);
  auto again = fresh.decode(0, encoded, &error);
  FUZZ_CHECK(again && *again == *fields, "QPACK round trip changed the field section");

  check_request_head(*fields);
  wasimoff::http::Headers headers;
  if (auto status = h3::parse_response_status(*fields, &headers))
    FUZZ_CHECK(*status >= 100 && *status <= 999, "response status out of range accepted");
}

struct Trace {
  std::vector<std::pair<std::uint64_t, std::string>> frames;
  std::string data;
  h3::FrameReader::Result result = h3::FrameReader::Result::kOk;
  std::uint64_t oversized = 0;
  bool operator==(const Trace&) const = default;
};

// Feeds `stream` in deliveries of the sizes `next_size` returns; stops at the first result other
// than kOk, as a connection would.
template <typename NextSize>
Trace read_frames(std::span<const std::uint8_t> stream, NextSize next_size) {
  Trace trace;
  h3::FrameReader reader(kMaxBufferedPayload);
  h3::FrameReader::Callbacks callbacks;
  callbacks.on_frame = [&](std::uint64_t type, std::string_view payload) {
    FUZZ_CHECK(payload.size() <= kMaxBufferedPayload, "buffered frame above the limit");
    trace.frames.emplace_back(type, std::string(payload));
    return type != h3::frame::kGoaway;
  };
  callbacks.on_data = [&](std::span<const std::uint8_t> chunk) {
    FUZZ_CHECK(!chunk.empty(), "on_data called with an empty chunk");
    trace.data.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
    return true;
  };
  while (!stream.empty()) {
    const std::size_t n = std::min<std::size_t>(next_size(), stream.size());
    trace.result = reader.feed(stream.first(n), callbacks);
    stream = stream.subspan(n);
    if (trace.result != h3::FrameReader::Result::kOk) break;
  }
  if (trace.result == h3::FrameReader::Result::kFrameTooLarge) {
    trace.oversized = reader.oversized_length();
    FUZZ_CHECK(trace.oversized > kMaxBufferedPayload, "kFrameTooLarge for a frame within limit");
  }
  return trace;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  wasimoff::fuzz::Chunker chunker(data[0]);
  const std::span<const std::uint8_t> stream(data + 1, size - 1);

  const Trace chunked = read_frames(stream, [&] { return chunker.next(); });
  const Trace whole = read_frames(stream, [&] { return stream.size(); });
  FUZZ_CHECK(chunked == whole, "FrameReader result depends on how the stream is split");
  FUZZ_CHECK(whole.data.size() <= stream.size(), "more DATA bytes than stream bytes");

  for (const auto& [type, payload] : whole.frames) {
    if (type == h3::frame::kSettings) check_settings(payload);
    if (type == h3::frame::kHeaders) check_field_section(payload);
  }
  const std::string_view raw(reinterpret_cast<const char*>(stream.data()), stream.size());
  check_settings(raw);
  check_field_section(raw);
  return 0;
}
