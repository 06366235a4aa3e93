#include "net/h3/frame.h"

#include <gtest/gtest.h>

#include "net/h3/settings.h"
#include "net/h3/varint.h"

namespace wasimoff::h3 {
namespace {

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

struct Collected {
  std::vector<std::pair<std::uint64_t, std::string>> frames;
  std::string data;
  FrameReader::Callbacks callbacks() {
    return {[this](std::uint64_t t, std::string_view p) {
              frames.emplace_back(t, std::string(p));
              return true;
            },
            [this](std::span<const std::uint8_t> c) {
              data.append(reinterpret_cast<const char*>(c.data()), c.size());
              return true;
            }};
  }
};

TEST(FrameReader, ParsesHeadersAndStreamsData) {
  std::string wire = encode_frame(frame::kHeaders, "abc") + encode_frame(frame::kData, "hello ") +
                     encode_frame(frame::kData, "world");
  Collected c;
  FrameReader r(1024);
  EXPECT_EQ(r.feed(bytes(wire), c.callbacks()), FrameReader::Result::kOk);
  ASSERT_EQ(c.frames.size(), 1u);
  EXPECT_EQ(c.frames[0].first, frame::kHeaders);
  EXPECT_EQ(c.frames[0].second, "abc");
  EXPECT_EQ(c.data, "hello world");
  EXPECT_TRUE(r.at_frame_boundary());
}

TEST(FrameReader, HandlesOneByteAtATime) {
  std::string big(300, 'x');
  std::string wire =
      encode_frame(frame::kSettings, encode_settings_payload({{{1, 0}, {0x33, 1}}})) +
      encode_frame(0x21, "grease") + encode_frame(frame::kData, big) +
      encode_frame(frame::kHeaders, "");
  Collected c;
  FrameReader r(1024);
  for (char ch : wire) {
    std::string one(1, ch);
    ASSERT_EQ(r.feed(bytes(one), c.callbacks()), FrameReader::Result::kOk);
  }
  ASSERT_EQ(c.frames.size(), 2u);  // the unknown 0x21 frame is skipped
  EXPECT_EQ(c.frames[0].first, frame::kSettings);
  EXPECT_EQ(c.frames[1].first, frame::kHeaders);
  EXPECT_EQ(c.frames[1].second, "");
  EXPECT_EQ(c.data, big);
  EXPECT_TRUE(r.at_frame_boundary());
}

TEST(FrameReader, SkipsHugeUnknownFramesWithoutBuffering) {
  std::string wire;
  append_frame_header(wire, 0x1f * 7 + 0x21, 1u << 30);  // GREASE type, 1 GiB announced
  wire += std::string(100, 'g');
  Collected c;
  FrameReader r(16);
  EXPECT_EQ(r.feed(bytes(wire), c.callbacks()), FrameReader::Result::kOk);
  EXPECT_TRUE(c.frames.empty());
  EXPECT_FALSE(r.at_frame_boundary());
}

TEST(FrameReader, RejectsOversizedBufferedFrame) {
  std::string wire;
  append_frame_header(wire, frame::kHeaders, 70000);
  Collected c;
  FrameReader r(65536);
  EXPECT_EQ(r.feed(bytes(wire), c.callbacks()), FrameReader::Result::kFrameTooLarge);
  EXPECT_EQ(r.oversized_length(), 70000u);
}

TEST(FrameReader, ReportsTruncationAtFin) {
  std::string wire = encode_frame(frame::kHeaders, "abcdef");
  wire.resize(wire.size() - 2);
  Collected c;
  FrameReader r(1024);
  EXPECT_EQ(r.feed(bytes(wire), c.callbacks()), FrameReader::Result::kOk);
  EXPECT_TRUE(c.frames.empty());
  EXPECT_FALSE(r.at_frame_boundary());
}

TEST(FrameReader, StopsWhenCallbackSaysSo) {
  std::string wire = encode_frame(frame::kHeaders, "a") + encode_frame(frame::kHeaders, "b");
  int n = 0;
  FrameReader r(1024);
  auto res = r.feed(bytes(wire), {[&](std::uint64_t, std::string_view) { return ++n < 1; },
                                  [](std::span<const std::uint8_t>) { return true; }});
  EXPECT_EQ(res, FrameReader::Result::kStopped);
  EXPECT_EQ(n, 1);
}

TEST(FrameReader, FlagsHttp2OnlyFrameTypes) {
  EXPECT_TRUE(frame::is_http2_only(0x02));
  EXPECT_TRUE(frame::is_http2_only(0x09));
  EXPECT_FALSE(frame::is_http2_only(frame::kHeaders));
  Collected c;
  FrameReader r(1024);
  std::string wire = encode_frame(0x06, "ping1234");
  r.feed(bytes(wire), c.callbacks());
  ASSERT_EQ(c.frames.size(), 1u);  // delivered so the caller can fail with H3_FRAME_UNEXPECTED
  EXPECT_EQ(c.frames[0].first, 0x06u);
}

TEST(Goaway, EncodesStreamId) {
  EXPECT_EQ(encode_goaway(8), std::string("\x07\x01\x08", 3));
}

TEST(Settings, RoundTripAndLookup) {
  Settings s;
  s.set(setting::kQpackMaxTableCapacity, 0);
  s.set(0x2b603742, 1);
  s.set(0xc671706a, 16);
  std::string err;
  auto d = decode_settings_payload(encode_settings_payload(s), &err);
  ASSERT_TRUE(d) << err;
  EXPECT_EQ(d->get(0x2b603742), 1u);
  EXPECT_EQ(d->get(0xc671706a), 16u);
  EXPECT_FALSE(d->get(0x33));
}

TEST(Settings, ParsesChromiumSettingsWithGrease) {
  // Chromium 156: 0x1=65536 0x6=16384 0x7=100 0x33=1 0xffd277=1 0x2b603742=1 + GREASE.
  Settings s{{{0x1, 65536},
              {0x6, 16384},
              {0x7, 100},
              {0x33, 1},
              {0xffd277, 1},
              {0x2b603742, 1},
              {0x1f * 3 + 0x21, 12345}}};
  std::string err;
  auto d = decode_settings_payload(encode_settings_payload(s), &err);
  ASSERT_TRUE(d) << err;
  EXPECT_EQ(d->entries.size(), 7u);
  EXPECT_EQ(d->get(0x6), 16384u);
}

TEST(Settings, RejectsMalformedPayloads) {
  std::string err;
  std::string dup = encode_settings_payload({{{1, 0}}}) + encode_settings_payload({{{1, 5}}});
  EXPECT_FALSE(decode_settings_payload(dup, &err));
  EXPECT_EQ(err, "repeated SETTINGS identifier");
  EXPECT_FALSE(decode_settings_payload(encode_settings_payload({{{0x02, 1}}}), &err));
  std::string truncated = encode_settings_payload({{{0x33, 1}}});
  truncated.pop_back();
  EXPECT_FALSE(decode_settings_payload(truncated, &err));
  EXPECT_EQ(err, "truncated SETTINGS entry");
}

}  // namespace
}  // namespace wasimoff::h3
