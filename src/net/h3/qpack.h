// QPACK glue over nghttp3's standalone encoder/decoder (RFC 9204). Both directions run without a
// dynamic table: we advertise QPACK_MAX_TABLE_CAPACITY = 0 and QPACK_BLOCKED_STREAMS = 0, and our
// encoder never inserts, so header blocks are self-contained and never block.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct nghttp3_qpack_encoder;
struct nghttp3_qpack_decoder;

namespace wasimoff::h3 {

struct HeaderField {
  std::string name;  // lower case for HTTP/3; pseudo-headers start with ':'
  std::string value;
  bool operator==(const HeaderField&) const = default;
};
using HeaderList = std::vector<HeaderField>;

class QpackEncoder {
 public:
  QpackEncoder();
  ~QpackEncoder();
  QpackEncoder(const QpackEncoder&) = delete;
  QpackEncoder& operator=(const QpackEncoder&) = delete;

  // The encoded field section (the HEADERS frame payload) for `headers` on `stream_id`.
  // Throws std::runtime_error when nghttp3 fails (out of memory).
  std::string encode(std::int64_t stream_id, const HeaderList& headers);

  // Bytes of the peer's QPACK decoder stream; false on malformed input
  // (H3_QPACK_DECODER_STREAM_ERROR).
  bool read_decoder_stream(std::span<const std::uint8_t> data);

 private:
  nghttp3_qpack_encoder* encoder_ = nullptr;
};

class QpackDecoder {
 public:
  // `max_field_section_size`: limit on the decoded section (sum of name + value + 32 per field,
  // RFC 9114 §4.2.2); larger sections fail with an error.
  explicit QpackDecoder(std::size_t max_field_section_size);
  ~QpackDecoder();
  QpackDecoder(const QpackDecoder&) = delete;
  QpackDecoder& operator=(const QpackDecoder&) = delete;

  // Bytes of the peer's QPACK encoder stream; false on malformed input or an attempt to use a
  // dynamic table we did not allow (H3_QPACK_ENCODER_STREAM_ERROR).
  bool read_encoder_stream(std::span<const std::uint8_t> data);

  // Decodes one complete field section (a HEADERS frame payload). nullopt with `error` set on
  // malformed input, a reference to the (non-existent) dynamic table, or a section above the limit.
  std::optional<HeaderList> decode(std::int64_t stream_id, std::string_view block,
                                   std::string* error);

 private:
  nghttp3_qpack_decoder* decoder_ = nullptr;
  std::size_t max_section_;
};

}  // namespace wasimoff::h3
