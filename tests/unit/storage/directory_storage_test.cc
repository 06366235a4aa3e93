// Directory backend specifics: on-disk layout, crash leftovers, alias file names.
#include "broker/storage/directory_storage.h"

#include <gtest/gtest.h>

#include <chrono>

#include "storage_test_util.h"

namespace wasimoff::broker {
namespace {

namespace fs = std::filesystem;
using testing::read_file;
using testing::TempDir;
using testing::wasm;
using testing::write_file;

std::size_t count_entries(const fs::path& dir) {
  return static_cast<std::size_t>(
      std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

TEST(DirectoryStorage, CreatesTheLayoutAndWritesBlobsAndNames) {
  TempDir dir;
  auto root = dir / "nested" / "store";
  DirectoryStorage storage(root);
  EXPECT_TRUE(fs::is_directory(root / "blobs"));
  EXPECT_TRUE(fs::is_directory(root / "names"));
  EXPECT_TRUE(fs::is_directory(root / "tmp"));

  auto info = storage.store(wasm("layout"), "my tool.wasm");
  auto hex = info.ref.substr(7);
  EXPECT_EQ(read_file(root / "blobs" / hex), wasm("layout"));
  EXPECT_EQ(read_file(root / "names" / "my tool.wasm"), info.ref + "\n");
  EXPECT_EQ(count_entries(root / "tmp"), 0u);  // everything was renamed into place

  storage.store(wasm("layout"), "second name");
  EXPECT_EQ(count_entries(root / "blobs"), 1u);  // stored once
  EXPECT_EQ(count_entries(root / "names"), 2u);
}

TEST(DirectoryStorage, OpenServesTheBlobFileForStreaming) {
  TempDir dir;
  DirectoryStorage storage(dir.path());
  auto info = storage.store(wasm("stream me"));
  auto content = storage.open(info.ref);
  ASSERT_TRUE(content);
  EXPECT_EQ(content->bytes, nullptr);
  EXPECT_EQ(fs::path(content->path), dir / "blobs" / info.ref.substr(7));
  EXPECT_EQ(content->info, info);
}

TEST(DirectoryStorage, AliasFileNamesAreEncodedAndDecoded) {
  EXPECT_EQ(DirectoryStorage::encode_name("plain-name_1.wasm"), "plain-name_1.wasm");
  EXPECT_EQ(DirectoryStorage::encode_name("100%"), "100%25");
  EXPECT_EQ(DirectoryStorage::encode_name(".hidden"), "%2Ehidden");
  EXPECT_EQ(DirectoryStorage::encode_name(".."), "%2E.");
  EXPECT_EQ(DirectoryStorage::encode_name("ü ok"), "ü ok");
  EXPECT_EQ(DirectoryStorage::encode_name(std::string("a\x7f", 2)), "a%7F");

  EXPECT_EQ(DirectoryStorage::decode_name("100%25"), "100%");
  EXPECT_EQ(DirectoryStorage::decode_name("a%20b"), "a b");  // any percent-encoding is read
  EXPECT_EQ(DirectoryStorage::decode_name("a+b"), "a+b");
  EXPECT_FALSE(DirectoryStorage::decode_name("bad%zz"));
  EXPECT_FALSE(DirectoryStorage::decode_name("a%2Fb"));  // decodes to an invalid alias
}

TEST(DirectoryStorage, SpecialAliasesSurviveARestart) {
  TempDir dir;
  std::vector<std::string> aliases = {".", "..", ".env", "50% off", "ü.wasm", "a b+c"};
  {
    DirectoryStorage storage(dir.path());
    for (std::size_t i = 0; i < aliases.size(); ++i)
      storage.store(wasm(std::to_string(i)), aliases[i]);
  }
  DirectoryStorage storage(dir.path());
  for (std::size_t i = 0; i < aliases.size(); ++i) {
    auto bytes = storage.read(aliases[i]);
    ASSERT_NE(bytes, nullptr) << aliases[i];
    EXPECT_EQ(*bytes, wasm(std::to_string(i))) << aliases[i];
  }
}

TEST(DirectoryStorage, AliasTooLongOnceEncodedIsAnInvalidAlias) {
  TempDir dir;
  DirectoryStorage storage(dir.path());
  std::string alias(100, '%');  // valid (100 bytes) but 300 bytes as a file name
  EXPECT_THROW(storage.store(wasm(), alias), InvalidAlias);
  EXPECT_FALSE(storage.resolve(alias));
}

TEST(DirectoryStorage, CrashLeftoversInTmpAreIgnoredAndOldOnesRemoved) {
  TempDir dir;
  {
    DirectoryStorage storage(dir.path());
    storage.store(wasm("real"), "real.wasm");
  }
  // A writer that crashed before its rename leaves a complete-looking file in tmp/.
  write_file(dir / "tmp" / "new.abc123", wasm("half written"));
  write_file(dir / "tmp" / "new.old999", wasm("from last week"));
  fs::last_write_time(dir / "tmp" / "new.old999",
                      fs::file_time_type::clock::now() - std::chrono::hours(24 * 7));

  DirectoryStorage storage(dir.path());
  ASSERT_EQ(storage.list().size(), 1u);
  EXPECT_EQ(*storage.read("real.wasm"), wasm("real"));
  EXPECT_TRUE(fs::exists(dir / "tmp" / "new.abc123"));   // may still belong to a live writer
  EXPECT_FALSE(fs::exists(dir / "tmp" / "new.old999"));  // certainly abandoned
}

TEST(DirectoryStorage, ForeignOrBrokenEntriesAreIgnored) {
  TempDir dir;
  { DirectoryStorage storage(dir.path()); }
  auto good = wasm("good");
  DirectoryStorage writer(dir.path());
  auto info = writer.store(good, "good");

  write_file(dir / "blobs" / "README", "not a blob");
  write_file(dir / "blobs" / std::string(64, 'a'), "not wasm or zip");
  write_file(dir / "blobs" / std::string(64, 'B'), good);  // upper-case hex is not our layout
  write_file(dir / "names" / "garbage", "this is no ref\n");
  write_file(dir / "names" / "dangling", "sha256:" + std::string(64, '0') + "\n");
  write_file(dir / "names" / "no-newline", info.ref);

  DirectoryStorage storage(dir.path());
  auto list = storage.list();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0], info);
  EXPECT_FALSE(storage.resolve("garbage"));
  EXPECT_FALSE(storage.resolve("dangling"));  // points at nothing
  EXPECT_EQ(storage.resolve("no-newline"), info);
  EXPECT_EQ(storage.resolve("good"), info);
}

TEST(DirectoryStorage, MediaTypeIsSniffedFromTheBlobOnOpen) {
  TempDir dir;
  std::string zip = std::string("PK\x03\x04", 4) + "payload";
  std::string ref;
  {
    DirectoryStorage storage(dir.path());
    ref = storage.store(zip).ref;
  }
  DirectoryStorage storage(dir.path());
  auto info = storage.resolve(ref);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->media, "application/zip");
  EXPECT_EQ(info->size, zip.size());
}

TEST(DirectoryStorage, MissingBlobFileIsAStorageError) {
  TempDir dir;
  DirectoryStorage storage(dir.path());
  auto info = storage.store(wasm("vanishes"));
  fs::remove(dir / "blobs" / info.ref.substr(7));
  EXPECT_THROW(storage.read(info.ref), StorageError);
  EXPECT_THROW(storage.open(info.ref), StorageError);
}

}  // namespace
}  // namespace wasimoff::broker
