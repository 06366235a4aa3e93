// WASIMOFF_FILESTORAGE scheme handling and the messages of failures to open.
#include "broker/storage/open_storage.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "storage_test_util.h"

namespace wasimoff::broker {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::wasm;

std::string open_error(const std::string& spec) {
  try {
    open_storage(spec);
  } catch (const StorageOpenError& e) {
    return e.what();
  }
  return "(opened)";
}

// Runs the test body inside `dir` and restores the working directory afterwards.
class WorkingDirectory {
 public:
  explicit WorkingDirectory(const fs::path& dir) : previous_(fs::current_path()) {
    fs::current_path(dir);
  }
  ~WorkingDirectory() { fs::current_path(previous_); }

 private:
  fs::path previous_;
};

TEST(OpenStorage, MemoryVariants) {
  for (std::string spec : {"", ":memory:", "memory://", "memory://anything"}) {
    auto storage = open_storage(spec);
    EXPECT_EQ(storage->description(), "in-memory storage") << spec;
  }
}

TEST(OpenStorage, DirectoryVariants) {
  TempDir dir;
  auto absolute = (dir / "abs").string();
  EXPECT_EQ(open_storage("dirfs://" + absolute)->description(), "directory " + absolute);
  EXPECT_EQ(open_storage(absolute + "2")->description(), "directory " + absolute + "2");

  fs::create_directory(dir / "cwd");
  WorkingDirectory cwd(dir / "cwd");
  open_storage("./here")->store(wasm("here"));
  open_storage("../up")->store(wasm("up"));
  open_storage("dirfs://relative")->store(wasm("relative"));
  EXPECT_EQ(
      fs::directory_iterator(dir / "cwd" / "here" / "blobs")->path().filename().string().size(),
      64u);
  EXPECT_TRUE(fs::is_directory(dir / "up" / "blobs"));
  EXPECT_TRUE(fs::is_directory(dir / "cwd" / "relative" / "blobs"));
}

TEST(OpenStorage, SqliteVariants) {
  TempDir dir;
  auto absolute = (dir / "abs.db").string();  // "sqlite://" + "/tmp/…" = "sqlite:///tmp/…"
  EXPECT_EQ(open_storage("sqlite://" + absolute)->description(), "sqlite database " + absolute);
  EXPECT_TRUE(fs::exists(absolute));

  WorkingDirectory cwd(dir.path());
  open_storage("sqlite://files.db")->store(wasm("relative"));
  EXPECT_TRUE(fs::exists(dir / "files.db"));
  EXPECT_EQ(open_storage("sqlite://files.db")->list().size(), 1u);
}

TEST(OpenStorage, UnknownSchemes) {
  for (std::string spec : {"boltdb://files.db", "files", "s3://bucket", "file:///tmp/x", "Memory",
                           "~/store", "dirfs:/x"}) {
    EXPECT_EQ(open_error(spec), "unknown storage scheme") << spec;
  }
  EXPECT_EQ(open_error("dirfs://"), "missing directory after dirfs://");
  EXPECT_EQ(open_error("sqlite://"), "missing database file name after sqlite://");
}

TEST(OpenStorage, DirectoryThatCannotBeCreated) {
  TempDir dir;
  testing::write_file(dir / "file", "x");
  auto below_file = (dir / "file" / "store").string();
  EXPECT_EQ(open_error("dirfs://" + below_file),
            "cannot create directory " + below_file + ": Not a directory");
  EXPECT_EQ(open_error((dir / "file").string()), (dir / "file").string() + " is not a directory");
}

TEST(OpenStorage, DirectoryWithoutWritePermission) {
  if (::geteuid() == 0) GTEST_SKIP() << "root may write anywhere";
  TempDir dir;
  fs::create_directory(dir / "locked");
  fs::permissions(dir / "locked", fs::perms::owner_read | fs::perms::owner_exec);
  auto target = (dir / "locked" / "store").string();
  EXPECT_EQ(open_error("dirfs://" + target),
            "cannot create directory " + target + ": Permission denied");
  fs::permissions(dir / "locked", fs::perms::owner_all);
}

TEST(OpenStorage, DatabaseThatCannotBeCreated) {
  TempDir dir;
  testing::write_file(dir / "file", "x");
  auto below_file = (dir / "file" / "files.db").string();
  auto message = open_error("sqlite://" + below_file);
  EXPECT_EQ(message.rfind("cannot open database " + below_file + ": ", 0), 0u) << message;
  fs::create_directory(dir / "db-is-dir.db");
  message = open_error("sqlite://" + (dir / "db-is-dir.db").string());
  EXPECT_EQ(message.rfind("cannot open database " + (dir / "db-is-dir.db").string() + ": ", 0), 0u)
      << message;
}

}  // namespace
}  // namespace wasimoff::broker
