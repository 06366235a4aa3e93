#include "common/zip_archive.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "zip_builder.h"

namespace wasimoff {
namespace {

using ::testing::HasSubstr;
using ziptest::RawEntry;
using ziptest::RawZip;

std::string reason(const std::string& zip, ZipReadLimits limits = {}) {
  try {
    read_zip(zip, limits);
  } catch (const ZipError& e) {
    return e.what();
  }
  return "";
}

TEST(ZipArchive, WriterOutputReadsBackWithDeflateAndDirectories) {
  ZipWriter w;
  w.add_directory("dir/", 1700000000);
  w.add_file("dir/a.txt", std::string(10000, 'a'), 1700000000);  // compresses well
  w.add_file("b.bin", std::string("\0\1\2", 3), 1700000000);
  std::string zip = w.finish();
  EXPECT_LT(zip.size(), 2000u) << "deflate should shrink 10000 equal bytes";
  auto entries = read_zip(zip);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].name, "dir");
  EXPECT_TRUE(entries[0].is_directory);
  EXPECT_EQ(entries[1].name, "dir/a.txt");
  EXPECT_EQ(entries[1].data, std::string(10000, 'a'));
  EXPECT_EQ(entries[2].data, std::string("\0\1\2", 3));
  // DOS timestamps have 2-second resolution and libzip interprets them as local time.
  EXPECT_NEAR(static_cast<double>(entries[1].mtime), 1700000000.0, 86400.0);
}

TEST(ZipArchive, EmptyArchiveIsValid) {
  ZipWriter w;
  std::string zip = w.finish();
  EXPECT_EQ(zip.size(), 22u);
  EXPECT_TRUE(read_zip(zip).empty());
}

TEST(ZipArchive, StoredEntriesAndNameNormalisation) {
  RawZip z;
  z.add({.name = "./a//b/./c.txt", .data = "hi"});
  z.add({.name = "./", .data = ""});
  z.add({.name = "d/", .data = ""});
  auto entries = read_zip(z.bytes());
  ASSERT_EQ(entries.size(), 2u);  // "./" is the root itself
  EXPECT_EQ(entries[0].name, "a/b/c.txt");
  EXPECT_EQ(entries[0].data, "hi");
  EXPECT_EQ(entries[1].name, "d");
  EXPECT_TRUE(entries[1].is_directory);
}

TEST(ZipArchive, Zip64RecordsAreRead) {
  RawZip z(/*zip64=*/true);
  z.add({.name = "big.txt", .data = "zip64 body"});
  auto entries = read_zip(z.bytes());
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].data, "zip64 body");
}

TEST(ZipArchive, RejectsAbsoluteNames) {
  RawZip z;
  z.add({.name = "/etc/passwd", .data = "x"});
  EXPECT_THAT(reason(z.bytes()), HasSubstr("absolute"));
}

TEST(ZipArchive, RejectsDotDotSegments) {
  for (const char* name : {"../evil", "a/../../evil", "a/..", "..\x2f"}) {
    RawZip z;
    z.add({.name = name, .data = "x"});
    EXPECT_THAT(reason(z.bytes()), HasSubstr("\"..\"")) << name;
  }
}

TEST(ZipArchive, RejectsNulBytesInNames) {
  RawZip z;
  z.add({.name = std::string("ok\0/../../x", 11), .data = "x"});
  EXPECT_THAT(reason(z.bytes()), HasSubstr("NUL"));
}

TEST(ZipArchive, RejectsSymlinkEntries) {
  RawZip z;
  z.add({.name = "link", .data = "/etc/passwd", .unix_mode = 0120777});
  EXPECT_THAT(reason(z.bytes()), HasSubstr("symbolic link"));
}

TEST(ZipArchive, RejectsDevicesAndFifos) {
  RawZip z;
  z.add({.name = "fifo", .data = "", .unix_mode = 0010644});
  EXPECT_THAT(reason(z.bytes()), HasSubstr("not a regular file"));
}

TEST(ZipArchive, UnixModesOfFilesAndDirectoriesAreAccepted) {
  RawZip z;
  z.add({.name = "f", .data = "x", .unix_mode = 0100644});
  z.add({.name = "d", .data = "", .unix_mode = 0040755});  // directory by mode, no trailing '/'
  auto entries = read_zip(z.bytes());
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_FALSE(entries[0].is_directory);
  EXPECT_TRUE(entries[1].is_directory);
}

TEST(ZipArchive, RejectsEncryptedEntries) {
  RawZip z;
  z.add({.name = "secret", .data = "xxxxxxxxxxxxxx", .flags = 1});
  EXPECT_THAT(reason(z.bytes()), HasSubstr("encrypted"));
}

TEST(ZipArchive, RejectsOtherCompressionMethods) {
  for (std::uint16_t method : {1, 6, 9, 12, 14, 93, 95}) {
    RawZip z;
    z.add({.name = "f", .data = "data", .method = method});
    EXPECT_THAT(reason(z.bytes()), HasSubstr("compression method")) << method;
  }
}

TEST(ZipArchive, RejectsExpandedSizeAboveTheLimitBeforeDecompressing) {
  ZipWriter w;
  w.add_file("a", std::string(600, 'a'), 0);
  w.add_file("b", std::string(600, 'b'), 0);
  std::string zip = w.finish();
  ZipReadLimits limits;
  limits.max_expanded_bytes = 1000;
  int calls = 0;
  try {
    read_zip(zip, limits, [&](ZipEntry&&) { ++calls; });
    FAIL() << "accepted";
  } catch (const ZipError& e) {
    EXPECT_THAT(e.what(), HasSubstr("expanded size exceeds"));
  }
  EXPECT_EQ(calls, 0);
  limits.max_expanded_bytes = 1200;
  EXPECT_EQ(read_zip(zip, limits).size(), 2u);
}

TEST(ZipArchive, DeclaredSizeCannotHideData) {
  // The header claims 1 byte, the entry holds 5000: reading must not produce more than declared.
  RawZip z;
  z.add({.name = "liar", .data = std::string(5000, 'x'), .declared_size = 1});
  std::string why = reason(z.bytes());
  EXPECT_FALSE(why.empty());
}

TEST(ZipArchive, RejectsTooManyEntries) {
  RawZip z;
  for (int i = 0; i < 5; ++i) z.add({.name = "f" + std::to_string(i), .data = ""});
  ZipReadLimits limits;
  limits.max_entries = 4;
  EXPECT_THAT(reason(z.bytes(), limits), HasSubstr("too many entries"));
}

TEST(ZipArchive, RejectsCorruptData) {
  RawZip z;
  z.add({.name = "f", .data = "some content"});
  std::string bytes = z.bytes();
  bytes[30 + 1 + 2] ^= 0x55;  // flip a data byte: CRC mismatch
  EXPECT_FALSE(reason(bytes).empty());
}

TEST(ZipArchive, RejectsGarbage) {
  EXPECT_THAT(reason("not a zip at all, just text that is long enough"), HasSubstr("not a ZIP"));
  EXPECT_THAT(reason(""), HasSubstr("not a ZIP"));
}

}  // namespace
}  // namespace wasimoff
