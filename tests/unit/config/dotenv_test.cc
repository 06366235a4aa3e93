#include "common/dotenv.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "temp_dir.h"

namespace wasimoff::dotenv {
namespace {

using wasimoff::testing::TempDir;

std::vector<std::pair<std::string, std::string>> kv(std::string_view content) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& e : parse(content, "test.env")) out.emplace_back(e.key, e.value);
  return out;
}

using KV = std::vector<std::pair<std::string, std::string>>;

std::string error_of(std::string_view content) {
  try {
    parse(content, "dir/config.env");
  } catch (const DotenvError& e) {
    return e.what();
  }
  return "<no error>";
}

std::optional<std::string> get(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::optional<std::string>(v) : std::nullopt;
}

TEST(DotenvSyntax, PlainEntriesCommentsAndExport) {
  EXPECT_EQ(
      kv("A=1\n"
         "\n"
         "# a comment\n"
         "   # indented comment\n"
         "export B=two\n"
         "export\tC=3\r\n"
         "  D =  spaced value  \n"
         "E=\n"
         "_F9=x"),
      (KV{{"A", "1"}, {"B", "two"}, {"C", "3"}, {"D", "spaced value"}, {"E", ""}, {"_F9", "x"}}));
  EXPECT_EQ(kv("export=1"), (KV{{"export", "1"}}));  // a variable named "export"
  EXPECT_EQ(kv("A=b=c"), (KV{{"A", "b=c"}}));
}

TEST(DotenvSyntax, InlineCommentsNeedABlankBeforeTheHash) {
  EXPECT_EQ(kv("A=value # comment"), (KV{{"A", "value"}}));
  EXPECT_EQ(kv("A=value\t# comment"), (KV{{"A", "value"}}));
  EXPECT_EQ(kv("A=value#not-a-comment"), (KV{{"A", "value#not-a-comment"}}));
  EXPECT_EQ(kv("A=#value"), (KV{{"A", "#value"}}));
  EXPECT_EQ(kv("A= # only a comment"), (KV{{"A", ""}}));
  EXPECT_EQ(kv("WASIMOFF_HTTP_LISTEN=127.0.0.1:4080        # behind a reverse proxy"),
            (KV{{"WASIMOFF_HTTP_LISTEN", "127.0.0.1:4080"}}));
}

TEST(DotenvSyntax, SingleQuotesAreLiteral) {
  EXPECT_EQ(kv("A='  a #b \\n \"c\" '"), (KV{{"A", "  a #b \\n \"c\" "}}));
  EXPECT_EQ(kv("A='x' # comment"), (KV{{"A", "x"}}));
  EXPECT_EQ(kv("A=''"), (KV{{"A", ""}}));
}

TEST(DotenvSyntax, DoubleQuotesUnderstandFourEscapes) {
  EXPECT_EQ(kv(R"(A="line1\nline2\ttab \"q\" back\\slash # not a comment")"),
            (KV{{"A", "line1\nline2\ttab \"q\" back\\slash # not a comment"}}));
  EXPECT_EQ(kv(R"(A="x"   # comment)"), (KV{{"A", "x"}}));
  EXPECT_EQ(kv(R"(A="")"), (KV{{"A", ""}}));
  EXPECT_EQ(kv("A=a\"b"), (KV{{"A", "a\"b"}}));  // quotes inside unquoted values are plain
}

TEST(DotenvSyntax, MalformedLinesNameFileAndLine) {
  EXPECT_EQ(error_of("A=1\nB=2\nnot an entry\n"), "dir/config.env:3: expected KEY=value");
  EXPECT_EQ(error_of("=value"), "dir/config.env:1: missing variable name before '='");
  EXPECT_EQ(error_of("\n9A=1"),
            "dir/config.env:2: invalid variable name (letters, digits and '_', not starting with "
            "a digit)");
  EXPECT_EQ(error_of("A-B=1"),
            "dir/config.env:1: invalid variable name (letters, digits and '_', not starting with "
            "a digit)");
  EXPECT_EQ(error_of("export A B=1"),
            "dir/config.env:1: invalid variable name (letters, digits and '_', not starting with "
            "a digit)");
  EXPECT_EQ(error_of("A='abc"), "dir/config.env:1: unterminated single-quoted value");
  EXPECT_EQ(error_of("A=\"abc"), "dir/config.env:1: unterminated double-quoted value");
  EXPECT_EQ(error_of("A=\"abc\\\""), "dir/config.env:1: unterminated double-quoted value");
  EXPECT_EQ(error_of("A=\"abc\\"), "dir/config.env:1: unterminated double-quoted value");
  EXPECT_EQ(error_of("A='a'b"), "dir/config.env:1: unexpected text after the closing quote");
  EXPECT_EQ(error_of("A=\"a\" b"), "dir/config.env:1: unexpected text after the closing quote");
  EXPECT_EQ(error_of(R"(A="C:\temp")"), "<no error>");  // \t is a valid escape (a tab)
  EXPECT_EQ(error_of(R"(A="C:\data")"),
            R"(dir/config.env:1: unknown escape \d in double-quoted value (use \n, \t, \" or \\))");
}

TEST(DotenvSyntax, ErrorsDoNotRepeatTheLine) {
  std::string what = error_of("SECRET_TOKEN 'hunter2-password'");
  EXPECT_EQ(what.find("hunter2"), std::string::npos) << what;
}

class DotenvFiles : public ::testing::Test {
 protected:
  void TearDown() override {
    for (auto n : {"CFGTLS_T_REAL", "CFGTLS_T_DOT", "CFGTLS_T_CONF", "CFGTLS_T_BOTH",
                   "CFGTLS_T_DUP", "CFGTLS_T_EMPTY_REAL", "CFGTLS_T_OTHER"})
      ::unsetenv(n);
  }
  TempDir dir;
};

TEST_F(DotenvFiles, RealEnvironmentWinsThenDotEnvThenConfigEnv) {
  ::setenv("CFGTLS_T_REAL", "from-env", 1);
  ::setenv("CFGTLS_T_EMPTY_REAL", "", 1);
  dir.write(".env",
            "CFGTLS_T_REAL=from-dotenv\n"
            "CFGTLS_T_DOT=from-dotenv\n"
            "CFGTLS_T_BOTH=from-dotenv\n"
            "CFGTLS_T_EMPTY_REAL=from-dotenv\n");
  dir.write("config.env",
            "CFGTLS_T_REAL=from-config\n"
            "CFGTLS_T_CONF=from-config\n"
            "CFGTLS_T_BOTH=from-config\n"
            "CFGTLS_T_OTHER=non-wasimoff keys are exported too\n");
  auto result = load_env_files(dir.path());
  EXPECT_EQ(get("CFGTLS_T_REAL"), "from-env");
  EXPECT_EQ(get("CFGTLS_T_EMPTY_REAL"), "");  // set-but-empty counts as set
  EXPECT_EQ(get("CFGTLS_T_DOT"), "from-dotenv");
  EXPECT_EQ(get("CFGTLS_T_BOTH"), "from-dotenv");
  EXPECT_EQ(get("CFGTLS_T_CONF"), "from-config");
  EXPECT_EQ(get("CFGTLS_T_OTHER"), "non-wasimoff keys are exported too");
  EXPECT_EQ(result.files_read,
            (std::vector<std::string>{dir.file(".env"), dir.file("config.env")}));
  EXPECT_EQ(result.keys_set, (std::vector<std::string>{"CFGTLS_T_DOT", "CFGTLS_T_BOTH",
                                                       "CFGTLS_T_CONF", "CFGTLS_T_OTHER"}));
}

TEST_F(DotenvFiles, LastEntryWithinAFileWins) {
  dir.write("config.env", "CFGTLS_T_DUP=first\nCFGTLS_T_DUP=second\n");
  load_env_files(dir.path());
  EXPECT_EQ(get("CFGTLS_T_DUP"), "second");
}

TEST_F(DotenvFiles, MissingFilesAreSkippedSilently) {
  auto result = load_env_files(dir.path());
  EXPECT_TRUE(result.files_read.empty());
  EXPECT_TRUE(result.keys_set.empty());
  dir.write("config.env", "CFGTLS_T_CONF=only-config\n");
  result = load_env_files(dir.path());
  EXPECT_EQ(result.files_read, (std::vector<std::string>{dir.file("config.env")}));
  EXPECT_EQ(get("CFGTLS_T_CONF"), "only-config");
}

TEST_F(DotenvFiles, MalformedLineLeavesEnvironmentUntouched) {
  dir.write(".env", "CFGTLS_T_DOT=ok\n");
  dir.write("config.env", "# header\nCFGTLS_T_CONF=ok\nbroken line\n");
  try {
    load_env_files(dir.path());
    FAIL() << "expected DotenvError";
  } catch (const DotenvError& e) {
    EXPECT_EQ(std::string(e.what()), dir.file("config.env") + ":3: expected KEY=value");
    EXPECT_EQ(e.file(), dir.file("config.env"));
    EXPECT_EQ(e.line(), 3);
  }
  EXPECT_EQ(get("CFGTLS_T_DOT"), std::nullopt);
  EXPECT_EQ(get("CFGTLS_T_CONF"), std::nullopt);
}

TEST_F(DotenvFiles, DirectoryInsteadOfFileIsAnError) {
  std::filesystem::create_directory(dir.path() / ".env");
  try {
    load_env_files(dir.path());
    FAIL() << "expected DotenvError";
  } catch (const DotenvError& e) {
    EXPECT_EQ(std::string(e.what()), dir.file(".env") + ": is a directory, expected a file");
  }
}

TEST_F(DotenvFiles, DefaultIsTheCurrentDirectory) {
  dir.write(".env", "CFGTLS_T_DOT=cwd\n");
  auto old = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  load_env_files();
  std::filesystem::current_path(old);
  EXPECT_EQ(get("CFGTLS_T_DOT"), "cwd");
}

}  // namespace
}  // namespace wasimoff::dotenv
