#include <gtest/gtest.h>

#include "provider/memfs/filesystem.h"

namespace wasimoff::memfs {
namespace {

TEST(Memfs, CreateWriteReadAndAccounting) {
  Filesystem fs(1 << 20);
  EXPECT_EQ(fs.used(), 0u);
  NodePtr f;
  ASSERT_EQ(fs.create_file(*fs.root(), "a.txt", &f), Errc::kOk);
  ASSERT_EQ(fs.write(*f, 0, "hello"), Errc::kOk);
  ASSERT_EQ(fs.write(*f, 10, "world"), Errc::kOk);  // leaves a zero-filled gap
  EXPECT_EQ(f->size(), 15u);
  char buf[32];
  ASSERT_EQ(fs.read(*f, 0, buf, sizeof buf), 15u);
  EXPECT_EQ(std::string(buf, 15), std::string("hello\0\0\0\0\0world", 15));
  EXPECT_EQ(fs.read(*f, 15, buf, sizeof buf), 0u);
  std::uint64_t with_data = fs.used();
  EXPECT_GE(with_data, 15u);
  ASSERT_EQ(fs.resize(*f, 5), Errc::kOk);
  EXPECT_EQ(fs.used(), with_data - 10);
  ASSERT_EQ(fs.unlink_file(*fs.root(), "a.txt"), Errc::kOk);
  EXPECT_EQ(f->nlink(), 0u);
  EXPECT_GT(fs.used(), 0u) << "an unlinked file held open still costs its bytes";
  f.reset();
  EXPECT_EQ(fs.used(), 0u) << "everything is released once the last reference is gone";
}

TEST(Memfs, CapacityIsEnforcedWithoutPartialChanges) {
  Filesystem fs(1000);
  NodePtr f;
  ASSERT_EQ(fs.create_file(*fs.root(), "f", &f), Errc::kOk);
  EXPECT_EQ(fs.write(*f, 0, std::string(2000, 'x')), Errc::kNoSpace);
  EXPECT_EQ(f->size(), 0u);
  EXPECT_EQ(fs.resize(*f, 5000), Errc::kNoSpace);
  EXPECT_EQ(fs.write(*f, ~0ull - 2, "abc"), Errc::kNoSpace);  // offset overflow
  // Many empty files also run out: nodes and names cost memory too.
  Errc last = Errc::kOk;
  for (int i = 0; i < 100 && last == Errc::kOk; ++i)
    last = fs.create_file(*fs.root(), "n" + std::to_string(i));
  EXPECT_EQ(last, Errc::kNoSpace);
}

TEST(Memfs, NamesAreValidated) {
  Filesystem fs;
  EXPECT_EQ(fs.create_file(*fs.root(), ""), Errc::kInvalid);
  EXPECT_EQ(fs.create_file(*fs.root(), "."), Errc::kInvalid);
  EXPECT_EQ(fs.create_file(*fs.root(), ".."), Errc::kInvalid);
  EXPECT_EQ(fs.create_file(*fs.root(), "a/b"), Errc::kInvalid);
  EXPECT_EQ(fs.create_file(*fs.root(), std::string("a\0b", 3)), Errc::kInvalid);
  EXPECT_EQ(fs.create_file(*fs.root(), std::string(256, 'n')), Errc::kNameTooLong);
  EXPECT_EQ(fs.create_file(*fs.root(), std::string(255, 'n')), Errc::kOk);
}

TEST(Memfs, DirectoriesLinksAndRemoval) {
  Filesystem fs;
  NodePtr d, f;
  ASSERT_EQ(fs.create_directory(*fs.root(), "d", &d), Errc::kOk);
  EXPECT_EQ(fs.root()->nlink(), 3u);
  EXPECT_EQ(d->parent(), fs.root().get());
  ASSERT_EQ(fs.create_file(*d, "f", &f), Errc::kOk);
  EXPECT_EQ(fs.create_file(*d, "f"), Errc::kExists);
  EXPECT_EQ(fs.create_directory(*f, "x"), Errc::kNotDirectory);
  EXPECT_EQ(fs.remove_directory(*fs.root(), "d"), Errc::kNotEmpty);
  EXPECT_EQ(fs.remove_directory(*d, "f"), Errc::kNotDirectory);
  EXPECT_EQ(fs.unlink_file(*fs.root(), "d"), Errc::kIsDirectory);
  EXPECT_EQ(fs.unlink_file(*fs.root(), "missing"), Errc::kNotFound);
  ASSERT_EQ(fs.unlink_file(*d, "f"), Errc::kOk);
  ASSERT_EQ(fs.remove_directory(*fs.root(), "d"), Errc::kOk);
  EXPECT_EQ(d->parent(), nullptr);
  EXPECT_EQ(d->nlink(), 0u);
  EXPECT_EQ(fs.create_file(*d, "late"), Errc::kNotFound) << "no entries in a removed directory";
}

TEST(Memfs, RenameFollowsPosix) {
  Filesystem fs;
  NodePtr a, b, d1, d2, sub;
  ASSERT_EQ(fs.create_file(*fs.root(), "a", &a), Errc::kOk);
  ASSERT_EQ(fs.create_file(*fs.root(), "b", &b), Errc::kOk);
  ASSERT_EQ(fs.create_directory(*fs.root(), "d1", &d1), Errc::kOk);
  ASSERT_EQ(fs.create_directory(*fs.root(), "d2", &d2), Errc::kOk);
  ASSERT_EQ(fs.create_directory(*d1, "sub", &sub), Errc::kOk);

  EXPECT_EQ(fs.rename(*fs.root(), "a", *fs.root(), "a"), Errc::kOk);
  EXPECT_EQ(fs.rename(*fs.root(), "a", *fs.root(), "b"), Errc::kOk);  // replaces b
  EXPECT_EQ(fs.lookup(*fs.root(), "b"), a);
  EXPECT_EQ(fs.lookup(*fs.root(), "a"), nullptr);
  EXPECT_EQ(b->nlink(), 0u);
  EXPECT_EQ(fs.rename(*fs.root(), "b", *fs.root(), "d2"), Errc::kIsDirectory);
  EXPECT_EQ(fs.rename(*fs.root(), "d2", *fs.root(), "b"), Errc::kNotDirectory);
  EXPECT_EQ(fs.rename(*fs.root(), "d1", *sub, "x"), Errc::kInvalid);  // into its own subtree
  EXPECT_EQ(fs.rename(*fs.root(), "d1", *d1, "x"), Errc::kInvalid);
  EXPECT_EQ(fs.rename(*fs.root(), "d2", *fs.root(), "d1"), Errc::kNotEmpty);
  // A directory moves with its contents and its parent pointer follows.
  ASSERT_EQ(fs.rename(*d1, "sub", *d2, "moved"), Errc::kOk);
  EXPECT_EQ(sub->parent(), d2.get());
  EXPECT_EQ(d1->nlink(), 2u);
  EXPECT_EQ(d2->nlink(), 3u);
  // Replacing an empty directory.
  ASSERT_EQ(fs.rename(*fs.root(), "d1", *d2, "moved"), Errc::kOk);
  EXPECT_EQ(fs.lookup(*d2, "moved"), d1);
  EXPECT_EQ(sub->nlink(), 0u);
  EXPECT_EQ(fs.rename(*fs.root(), "nope", *fs.root(), "x"), Errc::kNotFound);
}

TEST(Memfs, AddFileCreatesParentsForRootfs) {
  Filesystem fs;
  ASSERT_EQ(fs.add_file("a/b/c.txt", "data", 1'000'000'000), Errc::kOk);
  NodePtr a = fs.lookup(*fs.root(), "a");
  ASSERT_TRUE(a && a->is_directory());
  NodePtr c = fs.lookup(*fs.lookup(*a, "b"), "c.txt");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->data(), "data");
  EXPECT_EQ(c->times().mtim, 1'000'000'000);
  EXPECT_EQ(fs.add_file("a/b/c.txt", "newer", 0), Errc::kOk);  // later entry wins
  EXPECT_EQ(c->data(), "newer");
  EXPECT_EQ(fs.add_file("a/b/c.txt/d", "x", 0), Errc::kNotDirectory);
  EXPECT_EQ(fs.add_file("a/b", "x", 0), Errc::kIsDirectory);
  EXPECT_EQ(fs.add_directory("a/b", 0), Errc::kOk);
  EXPECT_EQ(fs.add_directory("a/b/c.txt", 0), Errc::kNotDirectory);
  EXPECT_EQ(fs.add_file("x/../y", "x", 0), Errc::kInvalid);
}

TEST(Memfs, DeepTreesAreTornDownWithoutRecursion) {
  auto fs = std::make_unique<Filesystem>(1ull << 30);
  Node* cur = fs->root().get();
  for (int i = 0; i < 200000; ++i) {
    NodePtr next;
    ASSERT_EQ(fs->create_directory(*cur, "d", &next), Errc::kOk);
    cur = next.get();
  }
  fs.reset();  // would overflow the stack if destruction recursed
  SUCCEED();
}

}  // namespace
}  // namespace wasimoff::memfs
