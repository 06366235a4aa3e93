#include <gtest/gtest.h>

#include "net/h3/varint.h"
#include "net/webtransport/capsule.h"
#include "net/webtransport/draft.h"
#include "net/webtransport/error_code.h"

namespace wasimoff::webtransport {
namespace {

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

TEST(ErrorCode, MapsKnownValues) {
  EXPECT_EQ(to_h3_error(0), 0x52e4a40fa8dbull);
  EXPECT_EQ(to_h3_error(0x1d), 0x52e4a40fa8dbull + 0x1d);
  EXPECT_EQ(to_h3_error(0x1e), 0x52e4a40fa8dbull + 0x1f);  // skips the GREASE point
  EXPECT_EQ(to_h3_error(0xffffffff), kLastH3ErrorCode);
}

TEST(ErrorCode, RoundTripsAndSkipsGrease) {
  for (std::uint32_t n :
       {0u, 1u, 29u, 30u, 31u, 59u, 60u, 1000u, 1009u, 0x7fffffffu, 0xffffffffu}) {
    auto h = to_h3_error(n);
    auto back = from_h3_error(h);
    ASSERT_TRUE(back) << n;
    EXPECT_EQ(*back, n);
    EXPECT_NE((h - kFirstH3ErrorCode) % 0x1f, 0x1eu);
  }
  EXPECT_FALSE(from_h3_error(kFirstH3ErrorCode + 0x1e));  // GREASE
  EXPECT_FALSE(from_h3_error(kFirstH3ErrorCode + 0x1f * 5 + 0x1e));
  EXPECT_FALSE(from_h3_error(0x100));  // H3_NO_ERROR is not a WT code
  EXPECT_FALSE(from_h3_error(kFirstH3ErrorCode - 1));
  EXPECT_FALSE(from_h3_error(kLastH3ErrorCode + 1));
}

TEST(Capsule, EncodesCloseAsOnTheWire) {
  std::string c = encode_close_capsule(0, "bye!");
  EXPECT_EQ(c, std::string("\x68\x43\x08\x00\x00\x00\x00"
                           "bye!",
                           11));
  EXPECT_EQ(encode_drain_capsule(), std::string("\x80\x00\x78\xae\x00", 5));
}

TEST(Capsule, TruncatesLongReasonsAtCharacterBoundary) {
  std::string reason;
  for (int i = 0; i < 600; ++i) reason += "\xc3\xa4";  // 'ä', 1200 bytes
  std::string c = encode_close_capsule(1011, reason);
  CapsuleReader r(65536);
  std::vector<Capsule> got;
  r.feed(bytes(c), [&](Capsule cap) { got.push_back(std::move(cap)); });
  ASSERT_EQ(got.size(), 1u);
  auto info = parse_close_value(got[0].value);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->code, 1011u);
  EXPECT_EQ(info->reason.size(), 1024u);
}

TEST(Capsule, ReaderSkipsGreaseAndHandlesSplits) {
  std::string grease;
  h3::append_varint(grease, 0x949e3f9fe91dcd2ull);
  h3::append_varint(grease, 5);
  grease += "junk!";
  std::string wire = grease + encode_drain_capsule() + encode_close_capsule(1002, "bad varint");
  CapsuleReader r(65536);
  std::vector<Capsule> got;
  for (char ch : wire) {
    std::string one(1, ch);
    ASSERT_EQ(r.feed(bytes(one), [&](Capsule cap) { got.push_back(std::move(cap)); }),
              CapsuleReader::Result::kOk);
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].type, draft::kCapsuleDrainSession);
  EXPECT_EQ(got[1].type, draft::kCapsuleCloseSession);
  auto info = parse_close_value(got[1].value);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->code, 1002u);
  EXPECT_EQ(info->reason, "bad varint");
  EXPECT_TRUE(r.at_boundary());
}

TEST(Capsule, RejectsOversizedKnownCapsule) {
  std::string wire;
  h3::append_varint(wire, draft::kCapsuleCloseSession);
  h3::append_varint(wire, 70000);
  CapsuleReader r(65536);
  EXPECT_EQ(r.feed(bytes(wire), [](Capsule) {}), CapsuleReader::Result::kTooLarge);
}

TEST(Capsule, CloseValueValidation) {
  EXPECT_FALSE(parse_close_value("abc"));
  EXPECT_FALSE(parse_close_value(std::string(4 + 1025, 'x')));
  auto ok = parse_close_value(std::string("\x00\x00\x03\xe8", 4));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->code, 1000u);
  EXPECT_EQ(ok->reason, "");
}

TEST(Draft, SettingsMatchWhatChromiumNeeds) {
  auto s = draft::local_settings();
  EXPECT_EQ(s.get(0x01), 0u);
  EXPECT_EQ(s.get(0x07), 0u);
  EXPECT_EQ(s.get(0x08), 1u);
  EXPECT_EQ(s.get(0x33), 1u);
  EXPECT_EQ(s.get(0x2b603742), 1u);
  EXPECT_EQ(s.get(0xc671706a), 1u);  // WEBTRANSPORT_MAX_SESSIONS: the one session we accept
  EXPECT_EQ(s.entries.size(), 6u);
}

TEST(Draft, NegotiatesFromPeerSettings) {
  h3::Settings chromium{
      {{0x1, 65536}, {0x6, 16384}, {0x7, 100}, {0x33, 1}, {0xffd277, 1}, {0x2b603742, 1}}};
  EXPECT_EQ(draft::negotiate(chromium), draft::Version::kDraft02);
  h3::Settings plain_h3{{{0x1, 4096}}};
  EXPECT_EQ(draft::negotiate(plain_h3), draft::Version::kNone);
  h3::Settings no_datagram{{{0x2b603742, 1}}};
  EXPECT_EQ(draft::negotiate(no_datagram), draft::Version::kNone);
}

}  // namespace
}  // namespace wasimoff::webtransport
