#include "common/strings.h"

#include <gtest/gtest.h>

#include "common/file_ref.h"

namespace wasimoff {
namespace {

TEST(Strings, Base64RoundTripAndVariants) {
  for (std::string s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar",
                                                std::string("\0\xff\xfe", 3)}) {
    EXPECT_EQ(base64_decode(base64_encode(s)).value(), s);
  }
  EXPECT_EQ(base64_encode("hi\n"), "aGkK");
  EXPECT_EQ(base64_decode("aGkK").value(), "hi\n");
  EXPECT_EQ(base64_decode("-_8").value(), "\xfb\xff");  // URL-safe, unpadded
  EXPECT_FALSE(base64_decode("a$==").has_value());
}

TEST(Strings, PercentDecoding) {
  EXPECT_EQ(percent_decode("a%20b+c").value(), "a b+c");
  EXPECT_EQ(percent_decode("a%20b+c", true).value(), "a b c");
  EXPECT_FALSE(percent_decode("%").has_value());
  EXPECT_FALSE(percent_decode("%4").has_value());
  EXPECT_FALSE(percent_decode("%zz").has_value());
  EXPECT_EQ(percent_encode("a b/ü"), "a%20b%2F%C3%BC");
}

TEST(Strings, GlobMatching) {
  EXPECT_TRUE(glob_match("*.example.org", "www.Example.ORG"));
  EXPECT_FALSE(glob_match("*.example.org", "example.org"));
  EXPECT_TRUE(glob_match("localhost:51?3", "localhost:5173"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_FALSE(glob_match("a?c", "ac"));
}

TEST(Strings, TruncateUtf8KeepsCharacters) {
  EXPECT_EQ(truncate_utf8("aé", 2), "a");  // é is two bytes
  EXPECT_EQ(truncate_utf8("abc", 5), "abc");
}

TEST(Strings, EscapeUntrustedKeepsOneLineAndNoControlBytes) {
  EXPECT_EQ(escape_untrusted("plain name-1.2"), "plain name-1.2");
  EXPECT_EQ(escape_untrusted("a\r\nX-Injected: 1"), "a\\r\\nX-Injected: 1");
  EXPECT_EQ(escape_untrusted(std::string("nul\0tab\tbs\\esc\x1b[31m", 19)),
            "nul\\x00tab\\tbs\\\\esc\\x1b[31m");
  EXPECT_EQ(escape_untrusted("del\x7f"), "del\\x7f");
  // Valid UTF-8 stays unless ascii_only; invalid bytes are escaped either way.
  EXPECT_EQ(escape_untrusted("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(escape_untrusted("caf\xc3\xa9", 256, true), "caf\\xc3\\xa9");
  EXPECT_EQ(escape_untrusted("bad\xc3(\xff"), "bad\\xc3(\\xff");
  EXPECT_EQ(escape_untrusted("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // surrogate
  // Truncation on the input side, on a character boundary, marked with an ellipsis.
  EXPECT_EQ(escape_untrusted("abcdef", 4), "abcd…");
  EXPECT_EQ(escape_untrusted("ab\xc3\xa9", 3), "ab…");
  // Property: the output never holds a byte below 0x20 or DEL, whatever the input.
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (bool ascii : {false, true}) {
    std::string out = escape_untrusted(all + all, 1024, ascii);
    for (char ch : out) {
      auto c = static_cast<unsigned char>(ch);
      EXPECT_TRUE(c >= 0x20 && c != 0x7f) << int(c);
      if (ascii) {
        EXPECT_LT(c, 0x80);
      }
    }
  }
}

TEST(Strings, ConstantTimeEquals) {
  EXPECT_TRUE(constant_time_equals("secret", "secret"));
  EXPECT_FALSE(constant_time_equals("secret", "secreT"));
  EXPECT_FALSE(constant_time_equals("secret", "secrets"));
}

TEST(FileRef, MakeAndNormalize) {
  EXPECT_EQ(make_ref(""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  auto upper = "SHA256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
  EXPECT_EQ(normalize_ref(upper).value(), make_ref(""));
  EXPECT_FALSE(normalize_ref("sha256:abc").has_value());
  EXPECT_FALSE(normalize_ref("hello.wasm").has_value());
}

TEST(FileRef, Sniffing) {
  using namespace std::string_view_literals;
  EXPECT_EQ(sniff_media("\0asm\x01\0\0\0"sv).value(), "application/wasm");
  EXPECT_EQ(sniff_media("PK\x03\x04rest"sv).value(), "application/zip");
  EXPECT_EQ(sniff_media("PK\x05\x06"sv).value(), "application/zip");
  EXPECT_FALSE(sniff_media("hello").has_value());
  EXPECT_TRUE(is_media("Application/Wasm; charset=x", "application/wasm"));
}

TEST(FileRef, AliasRules) {
  EXPECT_FALSE(check_alias("hello.wasm").has_value());
  EXPECT_TRUE(check_alias("").has_value());
  EXPECT_TRUE(check_alias("a/b").has_value());
  EXPECT_TRUE(check_alias("sha256:foo").has_value());
  EXPECT_TRUE(check_alias("tab\there").has_value());
  EXPECT_TRUE(check_alias(std::string(256, 'a')).has_value());
  EXPECT_TRUE(check_alias("\xff").has_value());
}

}  // namespace
}  // namespace wasimoff
