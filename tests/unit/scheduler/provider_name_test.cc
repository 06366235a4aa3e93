// check_provider_name(): the rule for provider names chosen by providers (provider_name.h).
#include "broker/providers/provider_name.h"

#include <gtest/gtest.h>

namespace wasimoff::broker {
namespace {

TEST(ProviderName, PrintableTextOfAnyScriptIsAccepted) {
  for (std::string_view ok :
       {"", "anonymous", "laptop-1", "Müller's laptop (8 cores) ✓", "東京のサーバー",
        "a b\xc2\xa0"
        "c",
        "emoji 🚀", "\xee\x80\x80 private use"}) {
    EXPECT_EQ(check_provider_name(ok), std::nullopt) << ok;
  }
  EXPECT_EQ(check_provider_name(std::string(128, 'n')), std::nullopt);
  // 128 bytes exactly, ending in a four-byte character.
  EXPECT_EQ(check_provider_name(std::string(124, 'n') + "🚀"), std::nullopt);
}

TEST(ProviderName, LengthIsBoundedInBytes) {
  EXPECT_EQ(check_provider_name(std::string(129, 'n')), "longer than 128 bytes (129 bytes)");
  EXPECT_EQ(check_provider_name(std::string(125, 'n') + "🚀"), "longer than 128 bytes (129 bytes)");
}

TEST(ProviderName, ControlCharactersAreRefused) {
  EXPECT_EQ(check_provider_name("evil\r\nX-Injected: 1"), "contains the control character U+000D");
  EXPECT_EQ(check_provider_name("tab\t"), "contains the control character U+0009");
  EXPECT_EQ(check_provider_name(std::string("nul\0", 4)), "contains the control character U+0000");
  EXPECT_EQ(check_provider_name("del\x7f"), "contains the control character U+007F");
  EXPECT_EQ(check_provider_name("c1\xc2\x85"), "contains the control character U+0085");
  EXPECT_EQ(check_provider_name("esc\x1b[31m"), "contains the control character U+001B");
}

TEST(ProviderName, InvisibleAndBidiFormattingIsRefused) {
  for (std::string_view bad : {"\xe2\x80\xae"
                               "reversed",
                               "zero\xe2\x80\x8bwidth", "bom\xef\xbb\xbf", "line\xe2\x80\xa8sep",
                               "isolate\xe2\x81\xa6", "soft\xc2\xadhyphen",
                               "non\xef\xbf\xbf"
                               "char"}) {
    auto why = check_provider_name(bad);
    ASSERT_TRUE(why.has_value()) << bad;
    EXPECT_TRUE(why->starts_with("contains the invisible or formatting character U+")) << *why;
  }
}

TEST(ProviderName, InvalidUtf8IsRefused) {
  for (std::string_view bad : {"\xff", "\xc3", "\xc0\xaf" /* overlong '/' */,
                               "\xed\xa0\x80" /* surrogate */, "\xf4\x90\x80\x80" /* > U+10FFFF */,
                               "\xe2\x82"
                               "x",
                               "\x80"}) {
    EXPECT_EQ(check_provider_name(bad), "not valid UTF-8") << testing::PrintToString(bad);
  }
}

}  // namespace
}  // namespace wasimoff::broker
