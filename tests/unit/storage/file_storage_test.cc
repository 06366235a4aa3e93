// The behaviour every storage backend shares, run against memory, directory and SQLite.
#include "broker/storage/file_storage.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "broker/storage/open_storage.h"
#include "common/strings.h"
#include "storage_test_util.h"

namespace wasimoff::broker {
namespace {

using testing::empty_zip;
using testing::TempDir;
using testing::wasm;

// sha256 of the 8-byte module header "\0asm\1\0\0\0" and of the 22-byte empty ZIP (hashlib).
constexpr std::string_view kWasmHeaderRef =
    "sha256:93a44bbb96c751218e4c00d479e4c14358122a389acca16205b1e4d0dc5f9476";
constexpr std::string_view kEmptyZipRef =
    "sha256:8739c76e681f900923b900c9df0ef75cf421d39cabb54650c4b9ad19b6a76d85";

struct MemoryBackend {
  static std::string spec(const TempDir&) { return ":memory:"; }
};
struct DirectoryBackend {
  static std::string spec(const TempDir& dir) { return "dirfs://" + (dir / "store").string(); }
};
struct SqliteBackend {
  static std::string spec(const TempDir& dir) { return "sqlite://" + (dir / "files.db").string(); }
};

template <typename Backend>
class FileStorageTest : public ::testing::Test {
 protected:
  void SetUp() override { storage_ = open_storage(Backend::spec(dir_)); }
  // Closes the storage and opens the same location again (persistence).
  void reopen() {
    storage_.reset();
    storage_ = open_storage(Backend::spec(dir_));
  }

  TempDir dir_;
  std::unique_ptr<FileStorage> storage_;
};

using Backends = ::testing::Types<MemoryBackend, DirectoryBackend, SqliteBackend>;
class BackendNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    if (std::is_same_v<T, MemoryBackend>) return "Memory";
    if (std::is_same_v<T, DirectoryBackend>) return "Directory";
    return "Sqlite";
  }
};
TYPED_TEST_SUITE(FileStorageTest, Backends, BackendNames);

TYPED_TEST(FileStorageTest, StoreReturnsContentAddressAndSniffedMedia) {
  auto module = this->storage_->store(wasm());
  EXPECT_EQ(module.ref, kWasmHeaderRef);
  EXPECT_EQ(module.media, "application/wasm");
  EXPECT_EQ(module.size, 8u);

  auto archive = this->storage_->store(empty_zip());
  EXPECT_EQ(archive.ref, kEmptyZipRef);
  EXPECT_EQ(archive.media, "application/zip");
  EXPECT_EQ(archive.size, 22u);

  auto zip_with_entry = this->storage_->store(std::string("PK\x03\x04", 4) + "rest");
  EXPECT_EQ(zip_with_entry.media, "application/zip");
}

TYPED_TEST(FileStorageTest, ResolveByRefInAnyCaseAndByAlias) {
  auto info = this->storage_->store(wasm("resolve"), "tool.wasm");

  EXPECT_EQ(this->storage_->resolve(info.ref), info);
  EXPECT_EQ(this->storage_->resolve(to_upper(info.ref)), info);  // "SHA256:9F2C…"
  EXPECT_EQ(this->storage_->resolve("tool.wasm"), info);
  EXPECT_TRUE(this->storage_->exists("tool.wasm"));
  EXPECT_TRUE(this->storage_->exists(info.ref));

  EXPECT_FALSE(this->storage_->resolve("other.wasm"));
  EXPECT_FALSE(this->storage_->resolve(kEmptyZipRef));
  EXPECT_FALSE(this->storage_->exists("sha256:00"));
  EXPECT_EQ(this->storage_->read("other.wasm"), nullptr);
  EXPECT_FALSE(this->storage_->open(kEmptyZipRef));
}

TYPED_TEST(FileStorageTest, ReadAndOpenReturnTheStoredBytes) {
  std::string bytes = wasm(std::string(100000, 'x') + "end");
  auto info = this->storage_->store(bytes, "big.wasm");

  auto read = this->storage_->read(info.ref);
  ASSERT_NE(read, nullptr);
  EXPECT_EQ(*read, bytes);
  EXPECT_EQ(*this->storage_->read("big.wasm"), bytes);

  auto content = this->storage_->open("big.wasm");
  ASSERT_TRUE(content);
  EXPECT_EQ(content->info, info);
  if (content->bytes) {
    EXPECT_EQ(*content->bytes, bytes);
  } else {
    EXPECT_EQ(testing::read_file(content->path), bytes);
  }
}

TYPED_TEST(FileStorageTest, IdenticalContentIsStoredOnce) {
  auto first = this->storage_->store(wasm("same"));
  auto second = this->storage_->store(wasm("same"), "alias");
  EXPECT_EQ(first, second);
  this->storage_->store(wasm("different"));

  auto list = this->storage_->list();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_LT(list[0].ref, list[1].ref);  // sorted by ref
}

TYPED_TEST(FileStorageTest, StoringUnderAnExistingAliasRepointsIt) {
  auto v1 = this->storage_->store(wasm("v1"), "app.wasm");
  auto v2 = this->storage_->store(wasm("v2"), "app.wasm");
  ASSERT_NE(v1.ref, v2.ref);

  EXPECT_EQ(this->storage_->resolve("app.wasm"), v2);
  EXPECT_EQ(*this->storage_->read("app.wasm"), wasm("v2"));
  // The old content stays reachable by its ref.
  EXPECT_EQ(this->storage_->resolve(v1.ref), v1);

  // Re-uploading old content under the alias points it back.
  this->storage_->store(wasm("v1"), "app.wasm");
  EXPECT_EQ(this->storage_->resolve("app.wasm"), v1);
}

TYPED_TEST(FileStorageTest, OtherContentIsRejectedAndNotStored) {
  EXPECT_THROW(this->storage_->store("#!/bin/sh\necho hi\n", "script"), UnsupportedFileType);
  EXPECT_THROW(this->storage_->store(""), UnsupportedFileType);
  EXPECT_THROW(this->storage_->store(std::string("\0as", 3)), UnsupportedFileType);
  EXPECT_THROW(this->storage_->store("PK\x01\x02 central directory"), UnsupportedFileType);
  EXPECT_TRUE(this->storage_->list().empty());
  EXPECT_FALSE(this->storage_->exists("script"));

  try {
    this->storage_->store("text");
    FAIL() << "no exception";
  } catch (const UnsupportedFileType& e) {
    EXPECT_STREQ(e.what(), "unsupported filetype");
  }
}

TYPED_TEST(FileStorageTest, InvalidAliasesAreRejectedBeforeWriting) {
  for (std::string bad :
       {std::string(), std::string("a/b"), std::string("sha256:abc"), std::string("tab\there"),
        std::string(256, 'n'), std::string("\xff\xfe")}) {
    EXPECT_THROW(this->storage_->store(wasm("alias test"), bad), InvalidAlias) << bad;
  }
  EXPECT_TRUE(this->storage_->list().empty());

  // The longest valid alias and non-ASCII names work.
  std::string longest(255, 'n');
  this->storage_->store(wasm("long"), longest);
  this->storage_->store(wasm("utf8"), "größe ✓.wasm");
  EXPECT_EQ(*this->storage_->read(longest), wasm("long"));
  EXPECT_EQ(*this->storage_->read("größe ✓.wasm"), wasm("utf8"));
}

TYPED_TEST(FileStorageTest, ConcurrentStoresAndLookupsFromSeveralThreads) {
  constexpr int kThreads = 6;
  constexpr int kFilesPerThread = 25;
  auto shared = this->storage_->store(wasm("shared by everyone"));
  std::atomic<int> lookup_failures{0};

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string alias = "thread-" + std::to_string(t);
      for (int i = 0; i < kFilesPerThread; ++i) {
        auto own = this->storage_->store(wasm(alias + "/" + std::to_string(i)), alias);
        this->storage_->store(wasm("shared by everyone"), "shared");
        // What this thread just stored is immediately visible to it.
        auto found = this->storage_->resolve(own.ref);
        if (!found || *found != own) ++lookup_failures;
        auto bytes = this->storage_->read(shared.ref);
        if (!bytes || *bytes != wasm("shared by everyone")) ++lookup_failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();

  EXPECT_EQ(lookup_failures.load(), 0);
  EXPECT_EQ(this->storage_->list().size(), 1u + kThreads * kFilesPerThread);
  EXPECT_EQ(this->storage_->resolve("shared"), shared);
  for (int t = 0; t < kThreads; ++t) {
    std::string alias = "thread-" + std::to_string(t);
    auto last = this->storage_->read(alias);
    ASSERT_NE(last, nullptr);
    EXPECT_EQ(*last, wasm(alias + "/" + std::to_string(kFilesPerThread - 1)));
  }
}

// Directory and SQLite keep everything across a restart (memory loses it by design).
template <typename Backend>
class PersistentStorageTest : public FileStorageTest<Backend> {};
using PersistentBackends = ::testing::Types<DirectoryBackend, SqliteBackend>;
TYPED_TEST_SUITE(PersistentStorageTest, PersistentBackends, BackendNames);

TYPED_TEST(PersistentStorageTest, EverythingSurvivesARestart) {
  auto module = this->storage_->store(wasm("persistent"), "keep.wasm");
  auto archive = this->storage_->store(empty_zip(), "root.zip");
  auto newer = this->storage_->store(wasm("newer"), "keep.wasm");  // re-pointed before restart

  this->reopen();

  EXPECT_EQ(this->storage_->list().size(), 3u);
  EXPECT_EQ(this->storage_->resolve(module.ref), module);
  EXPECT_EQ(this->storage_->resolve("root.zip"), archive);
  EXPECT_EQ(this->storage_->resolve("keep.wasm"), newer);
  EXPECT_EQ(*this->storage_->read("keep.wasm"), wasm("newer"));
  EXPECT_EQ(*this->storage_->read(archive.ref), empty_zip());

  // And it keeps working after the restart.
  this->storage_->store(wasm("persistent"), "keep.wasm");
  this->reopen();
  EXPECT_EQ(this->storage_->resolve("keep.wasm"), module);
}

}  // namespace
}  // namespace wasimoff::broker
