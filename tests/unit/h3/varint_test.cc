#include "net/h3/varint.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

namespace wasimoff::h3 {
namespace {

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string encode(std::uint64_t v) {
  std::string s;
  append_varint(s, v);
  return s;
}

TEST(Varint, EncodesRfc9000Examples) {
  EXPECT_EQ(encode(37), std::string("\x25", 1));
  EXPECT_EQ(encode(15293), std::string("\x7b\xbd", 2));
  EXPECT_EQ(encode(494878333), std::string("\x9d\x7f\x3e\x7d", 4));
  EXPECT_EQ(encode(151288809941952652ull), std::string("\xc2\x19\x7c\x5e\xff\x14\xe8\x8c", 8));
  // The WebTransport bidi signal and the large SETTINGS identifiers (docs/webtransport.md §2).
  EXPECT_EQ(encode(0x41), std::string("\x40\x41", 2));
  EXPECT_EQ(encode(0x2b603742), std::string("\xab\x60\x37\x42", 4));
  EXPECT_EQ(encode(0xc671706a), std::string("\xc0\x00\x00\x00\xc6\x71\x70\x6a", 8));
}

TEST(Varint, DecodesNonMinimalEncodings) {
  // RFC 9000 §16: 0x4025 is a two-byte encoding of 37.
  auto v = decode_varint(bytes(std::string("\x40\x25", 2)));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->value, 37u);
  EXPECT_EQ(v->length, 2u);
}

TEST(Varint, RoundTripsBoundaries) {
  for (std::uint64_t v :
       std::vector<std::uint64_t>{0, 63, 64, 16383, 16384, (1u << 30) - 1, 1u << 30, kMaxVarint}) {
    auto s = encode(v);
    EXPECT_EQ(s.size(), varint_size(v));
    auto d = decode_varint(bytes(s));
    ASSERT_TRUE(d) << v;
    EXPECT_EQ(d->value, v);
    EXPECT_EQ(d->length, s.size());
  }
}

TEST(Varint, TruncatedInputNeedsMore) {
  EXPECT_FALSE(decode_varint({}));
  auto s = encode(kMaxVarint);
  for (std::size_t n = 0; n < s.size(); ++n) EXPECT_FALSE(decode_varint(bytes(s.substr(0, n))));
}

TEST(Varint, RejectsValuesAbove62Bits) {
  std::string s;
  EXPECT_THROW(append_varint(s, kMaxVarint + 1), std::invalid_argument);
}

}  // namespace
}  // namespace wasimoff::h3
