#include "provider/cache/file_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <map>

#include "common/async.h"
#include "common/file_ref.h"
#include "run_sync.h"

namespace wasimoff::cache {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

// One get() whose lease lands in `out`; sets `all` when `total` of them are done. (A free
// function: a capturing lambda coroutine would outlive its closure.)
asio::awaitable<void> get_into(FileCache* cache, std::string ref, std::vector<FileLease>* out,
                               int* done, OneShotEvent* all, int total) {
  out->push_back(co_await cache->get(ref));
  if (++*done == total) all->set();
}

class FileCacheTest : public ::testing::Test {
 protected:
  FileCacheTest() {
    char tmpl[] = "/tmp/wasimoff-cache-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~FileCacheTest() override {
    threads_.join();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // A cache whose downloads come from `remote_` after a short pause (so requests overlap).
  std::unique_ptr<FileCache> make(std::uint64_t max_bytes = 1 << 20) {
    FileCacheOptions o;
    o.dir = dir_ / "files";
    o.max_bytes = max_bytes;
    auto fetch = [this](std::string ref) -> asio::awaitable<std::string> {
      ++fetches_[ref];
      co_await sleep_for(std::chrono::milliseconds(20));
      auto it = remote_.find(ref);
      if (it == remote_.end()) throw std::runtime_error("404 from the broker");
      co_return it->second;
    };
    auto cache = std::make_unique<FileCache>(ioc_.get_executor(), threads_, o, fetch);
    cache->on_change(
        [this](const std::vector<std::string>& added, const std::vector<std::string>& removed) {
          added_.insert(added_.end(), added.begin(), added.end());
          removed_.insert(removed_.end(), removed.begin(), removed.end());
        });
    return cache;
  }

  // Runs `work` and then the loop until it is out of work.
  template <typename T>
  T run(asio::awaitable<T> work) {
    return wasimoff::testing::run_sync(ioc_, std::move(work));
  }
  void run(asio::awaitable<void> work) { wasimoff::testing::run_sync(ioc_, std::move(work)); }

  std::string publish(std::string bytes) {
    std::string ref = make_ref(bytes);
    remote_[ref] = std::move(bytes);
    return ref;
  }

  static std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

  fs::path dir_;
  asio::io_context ioc_;
  asio::thread_pool threads_{2};
  std::map<std::string, std::string> remote_;
  std::map<std::string, int> fetches_;
  std::vector<std::string> added_, removed_;
};

TEST_F(FileCacheTest, ConcurrentRequestsShareOneDownload) {
  auto cache = make();
  run(cache->open());
  std::string ref = publish("module bytes");
  std::vector<FileLease> leases;
  int done = 0;
  OneShotEvent all(ioc_.get_executor());
  for (int i = 0; i < 5; ++i)
    asio::co_spawn(ioc_, get_into(cache.get(), ref, &leases, &done, &all, 5), asio::detached);
  run(all.wait());
  EXPECT_EQ(fetches_[ref], 1);
  ASSERT_EQ(leases.size(), 5u);
  for (auto& l : leases) EXPECT_EQ(slurp(l.path()), "module bytes");
  EXPECT_THAT(added_, ElementsAre(ref));
  EXPECT_TRUE(cache->contains(ref));
  EXPECT_THAT(cache->refs(), ElementsAre(ref));
  // A later request is a cache hit.
  run(cache->get(ref));
  EXPECT_EQ(fetches_[ref], 1);
}

TEST_F(FileCacheTest, FetchFailuresAndWrongContentAreErrors) {
  auto cache = make();
  run(cache->open());
  std::string missing = make_ref("never published");
  try {
    run(cache->get(missing));
    FAIL();
  } catch (const FileCacheError& e) {
    EXPECT_THAT(e.what(), HasSubstr("404 from the broker"));
  }
  // The broker answers with other bytes than the ref promises.
  std::string ref = make_ref("the real content");
  remote_[ref] = "something else";
  try {
    run(cache->get(ref));
    FAIL();
  } catch (const FileCacheError& e) {
    EXPECT_THAT(e.what(), HasSubstr("hash mismatch"));
  }
  EXPECT_FALSE(cache->contains(ref));
  EXPECT_FALSE(fs::exists(dir_ / "files" / ref.substr(7)));
  EXPECT_THROW(run(cache->get("not-a-ref")), FileCacheError);
  // Failures are not cached: once the broker has it, it works.
  remote_[ref] = "the real content";
  EXPECT_EQ(slurp(run(cache->get(ref)).path()), "the real content");
}

TEST_F(FileCacheTest, PutStoresUnderTheComputedRefAndChecksClaims) {
  auto cache = make();
  run(cache->open());
  FileLease lease = run(cache->put("uploaded"));
  EXPECT_EQ(lease.ref(), make_ref("uploaded"));
  EXPECT_EQ(slurp(lease.path()), "uploaded");
  EXPECT_THAT(added_, ElementsAre(make_ref("uploaded")));
  try {
    run(cache->put("content", make_ref("other")));
    FAIL();
  } catch (const FileCacheError& e) {
    EXPECT_STREQ(e.what(), "hash mismatch");
  }
  EXPECT_EQ(run(cache->put("content", make_ref("content"))).ref(), make_ref("content"));
  EXPECT_EQ(fetches_.size(), 0u);
}

TEST_F(FileCacheTest, EvictsLeastRecentlyUsedButNeverFilesInUse) {
  auto cache = make(100);
  run(cache->open());
  std::string a = publish(std::string(40, 'a')), b = publish(std::string(40, 'b')),
              c = publish(std::string(40, 'c')), d = publish(std::string(40, 'd'));
  run(cache->get(a));
  FileLease held_b = run(cache->get(b));
  run(cache->get(a));  // a is now more recent than b
  run(cache->get(c));  // 120 bytes: the LRU file is b, but it is in use -> a goes
  EXPECT_THAT(removed_, ElementsAre(a));
  EXPECT_FALSE(fs::exists(dir_ / "files" / a.substr(7)));
  EXPECT_TRUE(cache->contains(b));
  held_b = FileLease();  // released: b can go now
  run(cache->get(d));
  EXPECT_THAT(removed_, UnorderedElementsAre(a, b));
  EXPECT_LE(cache->used_bytes(), 100u);
  EXPECT_THAT(cache->refs(), UnorderedElementsAre(c, d));
}

TEST_F(FileCacheTest, ReopeningIndexesFilesAndVerifiesThemOnFirstUse) {
  std::string good = publish("good file"), bad = publish("bad file");
  {
    auto cache = make();
    run(cache->open());
    run(cache->get(good));
    run(cache->get(bad));
  }
  // Corrupt one file on disk and leave a stale temporary behind.
  {
    std::ofstream(dir_ / "files" / bad.substr(7), std::ios::binary | std::ios::trunc) << "tampered";
  }
  { std::ofstream(dir_ / "files" / ".tmp-0123") << "partial"; }
  fetches_.clear();
  auto cache = make();
  run(cache->open());
  EXPECT_FALSE(fs::exists(dir_ / "files" / ".tmp-0123"));
  EXPECT_THAT(cache->refs(), UnorderedElementsAre(good, bad));
  EXPECT_EQ(slurp(run(cache->get(good)).path()), "good file");
  EXPECT_EQ(fetches_[good], 0) << "intact files are not downloaded again";
  EXPECT_EQ(slurp(run(cache->get(bad)).path()), "bad file");
  EXPECT_EQ(fetches_[bad], 1) << "a corrupt file is fetched again";
}

}  // namespace
}  // namespace wasimoff::cache
