#include "provider/cache/file_cache.h"

#include <spdlog/spdlog.h>
#include <sys/random.h>

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>
#include <fstream>
#include <list>
#include <map>

#include "common/async.h"
#include "common/file_ref.h"
#include "common/sha256.h"
#include "common/strings.h"

namespace wasimoff::cache {

namespace fs = std::filesystem;

struct CacheEntry {
  std::string ref;
  fs::path path;
  std::uint64_t size = 0;
  std::uint32_t pins = 0;
  bool verified = false;
  bool present = true;  // false once evicted or dropped (leases may still point here)
  std::list<std::string>::iterator lru;
};

struct CacheState : std::enable_shared_from_this<CacheState> {
  CacheState(asio::any_io_executor e, asio::thread_pool& p, FileCacheOptions o,
             FileCache::Fetcher f)
      : ex(std::move(e)), pool(p), options(std::move(o)), fetch(std::move(f)) {}

  struct Flight {
    explicit Flight(asio::any_io_executor ex) : done(std::move(ex)) {}
    OneShotEvent done;
    std::exception_ptr error;
  };

  asio::any_io_executor ex;
  asio::thread_pool& pool;
  FileCacheOptions options;
  FileCache::Fetcher fetch;
  FileCache::ChangeCallback callback;
  std::map<std::string, std::shared_ptr<CacheEntry>, std::less<>> entries;
  std::list<std::string> lru;  // most recently used first
  std::uint64_t used = 0;
  std::map<std::string, std::shared_ptr<Flight>> flights;
  bool evicting = false;

  fs::path path_of(const std::string& ref) const {
    return options.dir / ref.substr(kRefPrefix.size());
  }

  void touch(CacheEntry& e) { lru.splice(lru.begin(), lru, e.lru); }

  std::shared_ptr<CacheEntry> insert(const std::string& ref, std::uint64_t size, bool verified) {
    auto e = std::make_shared<CacheEntry>();
    e->ref = ref;
    e->path = path_of(ref);
    e->size = size;
    e->verified = verified;
    lru.push_front(ref);
    e->lru = lru.begin();
    entries[ref] = e;
    used += size;
    return e;
  }

  void drop(const std::shared_ptr<CacheEntry>& e) {
    e->present = false;
    lru.erase(e->lru);
    used -= e->size;
    entries.erase(e->ref);
  }

  void announce(std::vector<std::string> added, std::vector<std::string> removed) {
    if (callback && (!added.empty() || !removed.empty())) callback(added, removed);
  }

  // Evicts least recently used, unpinned files until the cap holds; never the most recent one
  // (a single file larger than the cap stays until something newer arrives).
  void maybe_evict() {
    if (used <= options.max_bytes || evicting) return;
    std::vector<std::shared_ptr<CacheEntry>> victims;
    std::uint64_t projected = used;
    for (auto it = lru.rbegin(); it != lru.rend() && projected > options.max_bytes; ++it) {
      if (std::next(it) == lru.rend()) break;  // the most recent entry
      auto& e = entries.at(*it);
      if (e->pins > 0) continue;
      victims.push_back(e);
      projected -= e->size;
    }
    if (victims.empty()) return;
    std::vector<std::string> removed;
    std::vector<fs::path> files;
    for (auto& v : victims) {
      removed.push_back(v->ref);
      files.push_back(v->path);
      drop(v);
    }
    evicting = true;
    spawn_logged(ex, remove_files(std::move(files), std::move(removed)), "cache eviction");
  }

  awaitable<void> remove_files(std::vector<fs::path> files, std::vector<std::string> removed) {
    auto self = shared_from_this();
    auto remove_job = [files] {
      for (const auto& f : files) {
        std::error_code ec;
        fs::remove(f, ec);
      }
    };
    co_await offload(pool, std::move(remove_job));
    evicting = false;
    announce({}, std::move(removed));
    maybe_evict();
  }

  // Writes bytes under the ref's final name (temporary name + rename), on the pool.
  awaitable<void> write(const std::string& ref, const std::string& bytes) {
    fs::path dir = options.dir;
    fs::path target = path_of(ref);
    auto write_job = [dir, target, &bytes] {
      unsigned char rnd[8];
      if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd) throw FileCacheError("getrandom failed");
      fs::path tmp =
          dir / (".tmp-" + hex_encode(std::string_view(reinterpret_cast<char*>(rnd), sizeof rnd)));
      {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        out.flush();
        if (!out) {
          std::error_code ec;
          fs::remove(tmp, ec);
          throw FileCacheError("cannot write " + tmp.string());
        }
      }
      std::error_code ec;
      fs::rename(tmp, target, ec);
      if (ec) {
        fs::remove(tmp, ec);
        throw FileCacheError("cannot store " + target.string() + ": " + ec.message());
      }
    };
    co_await offload(pool, std::move(write_job));
  }

  // Fetches and stores `ref`, or verifies an unverified file already present.
  awaitable<void> materialize(std::shared_ptr<Flight> flight, std::string ref) {
    auto self = shared_from_this();
    try {
      auto it = entries.find(ref);
      if (it != entries.end() && !it->second->verified) {
        fs::path p = it->second->path;
        auto hash_job = [p]() -> std::string {
          std::ifstream in(p, std::ios::binary);
          if (!in) return {};
          Sha256 h;
          std::string buf(1 << 16, '\0');
          while (in) {
            in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
            h.update(std::string_view(buf.data(), static_cast<std::size_t>(in.gcount())));
          }
          return std::string(kRefPrefix) + h.hex_digest();
        };
        std::string actual = co_await offload(pool, std::move(hash_job));
        it = entries.find(ref);
        if (it != entries.end()) {
          if (actual == ref) {
            it->second->verified = true;
          } else {
            spdlog::warn("cache: {} is corrupt on disk, fetching it again", ref);
            auto e = it->second;
            drop(e);
            auto remove_job = [p] {
              std::error_code ec;
              fs::remove(p, ec);
            };
            co_await offload(pool, std::move(remove_job));
            announce({}, {ref});
          }
        }
      }
      if (!entries.count(ref)) {
        std::string bytes;
        try {
          bytes = co_await fetch(ref);
        } catch (const std::exception& e) {
          throw FileCacheError(e.what());
        }
        auto hash_job = [&bytes] { return make_ref(bytes); };
        std::string actual = co_await offload(pool, std::move(hash_job));
        if (actual != ref)
          throw FileCacheError("hash mismatch: the fetched content is " + actual,
                               StatusCode::kDataLoss);
        co_await write(ref, bytes);
        if (!entries.count(ref)) {
          insert(ref, bytes.size(), true);
          announce({ref}, {});
          maybe_evict();
        }
      }
    } catch (...) {
      flight->error = std::current_exception();
    }
    flights.erase(ref);
    flight->done.set();
  }

  void unpin(CacheEntry& e) {
    if (e.pins > 0) --e.pins;
    if (e.pins == 0 && e.present) maybe_evict();
  }
};

// --- FileLease ---------------------------------------------------------------------------------

FileLease::FileLease(std::shared_ptr<CacheEntry> entry, std::weak_ptr<CacheState> cache)
    : entry_(std::move(entry)), cache_(std::move(cache)) {
  ++entry_->pins;
}

FileLease& FileLease::operator=(FileLease&& other) noexcept {
  if (this != &other) {
    release();
    entry_ = std::move(other.entry_);
    cache_ = std::move(other.cache_);
  }
  return *this;
}

FileLease::~FileLease() {
  release();
}

void FileLease::release() {
  if (!entry_) return;
  if (auto c = cache_.lock())
    c->unpin(*entry_);
  else if (entry_->pins > 0)
    --entry_->pins;
  entry_.reset();
}

const std::string& FileLease::ref() const {
  return entry_->ref;
}
const fs::path& FileLease::path() const {
  return entry_->path;
}
std::uint64_t FileLease::size() const {
  return entry_->size;
}

// --- FileCache ---------------------------------------------------------------------------------

FileCache::FileCache(asio::any_io_executor ex, asio::thread_pool& pool, FileCacheOptions options,
                     Fetcher fetch)
    : state_(std::make_shared<CacheState>(std::move(ex), pool, std::move(options),
                                          std::move(fetch))) {}

FileCache::~FileCache() = default;

awaitable<void> FileCache::open() {
  std::shared_ptr<CacheState> s = state_;
  struct Found {
    std::string ref;
    std::uint64_t size;
    fs::file_time_type mtime;
  };
  fs::path dir = s->options.dir;
  auto scan_job = [dir] {
    fs::create_directories(dir);
    std::vector<Found> out;
    for (const auto& de : fs::directory_iterator(dir)) {
      std::string name = de.path().filename().string();
      std::error_code ec;
      if (name.rfind(".tmp-", 0) == 0) {
        fs::remove(de.path(), ec);
        continue;
      }
      auto ref = normalize_ref(std::string(kRefPrefix) + name);
      if (!ref || *ref != std::string(kRefPrefix) + name || !de.is_regular_file(ec)) continue;
      out.push_back({*ref, de.file_size(ec), de.last_write_time(ec)});
    }
    std::sort(out.begin(), out.end(),
              [](const Found& a, const Found& b) { return a.mtime < b.mtime; });
    return out;
  };
  std::vector<Found> found = co_await offload(s->pool, std::move(scan_job));
  for (const Found& f : found)
    if (!s->entries.count(f.ref)) s->insert(f.ref, f.size, false);
  s->maybe_evict();
}

awaitable<FileLease> FileCache::get(std::string ref) {
  std::shared_ptr<CacheState> s = state_;
  std::optional<std::string> canonical = normalize_ref(ref);
  if (!canonical) throw FileCacheError("not a sha256 ref: " + truncate_utf8(ref, 100));
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto it = s->entries.find(*canonical);
    if (it != s->entries.end() && it->second->verified) {
      s->touch(*it->second);
      co_return FileLease(it->second, s);
    }
    std::shared_ptr<CacheState::Flight> flight;
    if (auto f = s->flights.find(*canonical); f != s->flights.end()) {
      flight = f->second;
    } else {
      flight = std::make_shared<CacheState::Flight>(s->ex);
      s->flights[*canonical] = flight;
      spawn_logged(s->ex, s->materialize(flight, *canonical), "cache fetch");
    }
    co_await flight->done.wait();
    if (!flight->done.is_set()) throw boost::system::system_error(asio::error::operation_aborted);
    if (flight->error) std::rethrow_exception(flight->error);
  }
  throw FileCacheError("file was evicted repeatedly while being fetched (cache too small?)");
}

awaitable<FileLease> FileCache::put(std::string bytes, std::optional<std::string> claimed_ref) {
  std::shared_ptr<CacheState> s = state_;
  auto hash_job = [&bytes] { return make_ref(bytes); };
  std::string ref = co_await offload(s->pool, std::move(hash_job));
  if (claimed_ref) {
    if (auto claimed = normalize_ref(*claimed_ref); claimed && *claimed != ref)
      throw FileCacheError("hash mismatch", StatusCode::kInvalidArgument);
  }
  if (auto it = s->entries.find(ref); it != s->entries.end() && it->second->verified) {
    s->touch(*it->second);
    co_return FileLease(it->second, s);
  }
  co_await s->write(ref, bytes);
  auto it = s->entries.find(ref);
  std::shared_ptr<CacheEntry> e;
  if (it != s->entries.end()) {
    e = it->second;
    e->verified = true;  // we just wrote these exact bytes under this name
    s->touch(*e);
  } else {
    e = s->insert(ref, bytes.size(), true);
    s->announce({ref}, {});
  }
  FileLease lease(e, s);
  s->maybe_evict();
  co_return lease;
}

bool FileCache::contains(std::string_view ref) const {
  std::optional<std::string> canonical = normalize_ref(ref);
  return canonical && state_->entries.count(*canonical) > 0;
}

std::vector<std::string> FileCache::refs() const {
  std::vector<std::string> out;
  out.reserve(state_->entries.size());
  for (const auto& [ref, e] : state_->entries) out.push_back(ref);
  return out;
}

std::uint64_t FileCache::used_bytes() const {
  return state_->used;
}

void FileCache::on_change(ChangeCallback callback) {
  state_->callback = std::move(callback);
}

}  // namespace wasimoff::cache
