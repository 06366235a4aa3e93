// X-Args word splitting (docs/http-api.md §5).
#include "broker/api/shell_words.h"

#include <gtest/gtest.h>

namespace wasimoff::broker {
namespace {

using Words = std::vector<std::string>;

Words words(std::string_view text) {
  auto r = split_shell_words(text);
  if (!r) {
    ADD_FAILURE() << "unexpected error for [" << text << "]: " << r.error().message();
    return {};
  }
  return *r;
}

std::string error(std::string_view text) {
  auto r = split_shell_words(text);
  if (!r) {
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
    return r.error().message();
  }
  ADD_FAILURE() << "no error for [" << text << "]";
  return {};
}

TEST(ShellWords, SpecExample) {
  EXPECT_EQ(words(R"(rand "8" 'a b' c\ d)"), (Words{"rand", "8", "a b", "c d"}));
}

TEST(ShellWords, Separators) {
  EXPECT_EQ(words(""), Words{});
  EXPECT_EQ(words("   \t\n "), Words{});
  EXPECT_EQ(words(" a\tb\nc  d "), (Words{"a", "b", "c", "d"}));
}

TEST(ShellWords, SingleQuotesAreLiteral) {
  EXPECT_EQ(words(R"('a "b" \c $d')"), Words{R"(a "b" \c $d)"});
  EXPECT_EQ(words("''"), Words{""});  // an empty quoted word is a word
  EXPECT_EQ(words("a '' b"), (Words{"a", "", "b"}));
}

TEST(ShellWords, DoubleQuotesHonourBackslash) {
  EXPECT_EQ(words(R"("a \"b\" \\ c")"), Words{R"(a "b" \ c)"});
  EXPECT_EQ(words(R"("it's")"), Words{"it's"});
  EXPECT_EQ(words("\"\""), Words{""});
  EXPECT_EQ(words("\"two\nlines\""), Words{"two\nlines"});
}

TEST(ShellWords, BackslashOutsideQuotes) {
  EXPECT_EQ(words(R"(a\ b \'c\' \\)"), (Words{"a b", "'c'", "\\"}));
}

TEST(ShellWords, AdjacentPartsJoin) {
  EXPECT_EQ(words(R"(a'b c'"d e"f)"), Words{"ab cd ef"});
  EXPECT_EQ(words(R"(--name="x y")"), Words{"--name=x y"});
}

TEST(ShellWords, CommentsOnlyAtWordStart) {
  EXPECT_EQ(words("a #comment b\nc"), (Words{"a", "c"}));
  EXPECT_EQ(words("a#b"), Words{"a#b"});
  EXPECT_EQ(words("'#x' \"#y\" \\#z"), (Words{"#x", "#y", "#z"}));
  EXPECT_EQ(words("# all comment"), Words{});
}

TEST(ShellWords, Errors) {
  EXPECT_EQ(error("'open"), "unterminated single quote");
  EXPECT_EQ(error("\"open"), "unterminated double quote");
  EXPECT_EQ(error("trailing\\"), "trailing backslash");
  EXPECT_FALSE(error("\"esc\\").empty());
}

}  // namespace
}  // namespace wasimoff::broker
