#include "net/webtransport/message_framing.h"

#include <gtest/gtest.h>

#include "protocol/codec.h"

namespace wasimoff::webtransport {
namespace {

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

TEST(MessageFraming, PrefixesWithProtobufVarint) {
  std::string body(300, 'e');
  std::string f = frame_message(body);
  EXPECT_EQ(f.substr(0, 2), std::string("\xac\x02", 2));  // docs/protocol.md §7 example
  EXPECT_EQ(f.size(), 302u);
  EXPECT_EQ(frame_message(""), std::string("\x00", 1));
}

TEST(MessageFraming, RoundTripsEnvelopesSplitAnywhere) {
  v1::Envelope a;
  a.set_sequence(1);
  a.set_type(v1::Envelope::Request);
  v1::Envelope b;
  b.set_sequence(2);
  b.set_error(std::string(5000, 'z'));
  std::string wire = frame_message(protocol::encode(a, protocol::Codec::kBinary)) +
                     frame_message("") +
                     frame_message(protocol::encode(b, protocol::Codec::kBinary));
  for (std::size_t split : {std::size_t{1}, std::size_t{2}, std::size_t{7}, wire.size()}) {
    MessageDeframer d(1 << 20);
    for (std::size_t i = 0; i < wire.size(); i += split)
      ASSERT_EQ(d.feed(bytes(wire.substr(i, split))), MessageDeframer::Status::kOk);
    ASSERT_TRUE(d.has_message());
    v1::Envelope got;
    EXPECT_EQ(protocol::decode(d.pop(), protocol::Codec::kBinary, &got), "");
    EXPECT_EQ(got.sequence(), 1u);
    ASSERT_TRUE(d.has_message());
    EXPECT_EQ(d.pop(), "");  // the empty Envelope is delivered (and ignored by the caller)
    ASSERT_TRUE(d.has_message());
    EXPECT_EQ(protocol::decode(d.pop(), protocol::Codec::kBinary, &got), "");
    EXPECT_EQ(got.error().size(), 5000u);
    EXPECT_FALSE(d.has_message());
    EXPECT_TRUE(d.at_boundary());
    EXPECT_EQ(d.buffered_bytes(), 0u);
  }
}

TEST(MessageFraming, RejectsOversizedFrameBeforeBuffering) {
  MessageDeframer d(1000);
  // Prefix announcing 1001 bytes, followed by nothing: rejected on the prefix alone.
  EXPECT_EQ(d.feed(bytes(std::string("\xe9\x07", 2))), MessageDeframer::Status::kTooLarge);
  EXPECT_EQ(d.announced_length(), 1001u);
  // Stays failed.
  EXPECT_EQ(d.feed(bytes(frame_message("x"))), MessageDeframer::Status::kTooLarge);
  EXPECT_FALSE(d.has_message());
}

TEST(MessageFraming, AcceptsExactlyTheMaximum) {
  MessageDeframer d(1000);
  EXPECT_EQ(d.feed(bytes(frame_message(std::string(1000, 'm')))), MessageDeframer::Status::kOk);
  ASSERT_TRUE(d.has_message());
  EXPECT_EQ(d.pop().size(), 1000u);
}

TEST(MessageFraming, RejectsOverlongPrefixes) {
  MessageDeframer d(UINT64_MAX);
  // Eleven continuation bytes: longer than the 10-byte maximum.
  EXPECT_EQ(d.feed(bytes(std::string(11, '\x80'))), MessageDeframer::Status::kBadPrefix);
  MessageDeframer d2(UINT64_MAX);
  // Ten bytes whose last one carries bits above 2^64.
  std::string over(9, '\xff');
  over.push_back('\x02');
  EXPECT_EQ(d2.feed(bytes(over)), MessageDeframer::Status::kBadPrefix);
  MessageDeframer d3(UINT64_MAX);
  EXPECT_EQ(d3.feed(bytes(std::string(10, '\x80'))), MessageDeframer::Status::kBadPrefix);
}

TEST(MessageFraming, TruncatedInputWaitsAndIsNotAtBoundary) {
  MessageDeframer d(1 << 20);
  std::string f = frame_message("hello world");
  EXPECT_EQ(d.feed(bytes(f.substr(0, 5))), MessageDeframer::Status::kOk);
  EXPECT_FALSE(d.has_message());
  EXPECT_FALSE(d.at_boundary());  // FIN here would be a truncated message
  MessageDeframer d2(1 << 20);
  EXPECT_EQ(d2.feed(bytes(std::string("\x85", 1))), MessageDeframer::Status::kOk);  // half a varint
  EXPECT_FALSE(d2.at_boundary());
}

TEST(MessageFraming, GarbageBodyIsAFramingSuccessButADecodeFailure) {
  MessageDeframer d(1 << 20);
  std::string garbage("\xff\xff\xff\xff\xff", 5);
  ASSERT_EQ(d.feed(bytes(frame_message(garbage))), MessageDeframer::Status::kOk);
  ASSERT_TRUE(d.has_message());
  v1::Envelope e;
  EXPECT_NE(protocol::decode(d.pop(), protocol::Codec::kBinary, &e), "");
}

}  // namespace
}  // namespace wasimoff::webtransport
