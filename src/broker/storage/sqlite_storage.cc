#include "broker/storage/sqlite_storage.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <chrono>
#include <system_error>

#include "common/file_ref.h"

namespace wasimoff::broker {

namespace fs = std::filesystem;

namespace {

constexpr int kBusyTimeoutMs = 3000;

// A prepared statement, finalized on scope exit. Errors throw E (StorageError or
// StorageOpenError) with the database's message.
template <typename E>
class Statement {
 public:
  // `context` prefixes error messages, e.g. "database /var/files.db".
  Statement(sqlite3* db, const char* sql, std::string context)
      : db_(db), context_(std::move(context)) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) fail("preparing a query");
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void bind(int index, std::string_view text) {
    check(sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8));
  }
  void bind_blob(int index, std::string_view bytes) {
    check(sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_STATIC));
  }
  void bind(int index, std::int64_t value) { check(sqlite3_bind_int64(stmt_, index, value)); }

  // True while a row is available.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail("executing a query");
  }
  std::string_view text(int column) {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)))
             : std::string_view();
  }
  std::string_view blob(int column) {
    auto p = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
    return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)))
             : std::string_view();
  }
  std::int64_t integer(int column) { return sqlite3_column_int64(stmt_, column); }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) fail("binding a parameter");
  }
  [[noreturn]] void fail(const char* what) {
    throw E(context_ + ": " + what + " failed: " + sqlite3_errmsg(db_));
  }

  sqlite3* db_;
  std::string context_;
  sqlite3_stmt* stmt_ = nullptr;
};

template <typename E>
void execute(sqlite3* db, const char* sql, const char* what) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : sqlite3_errmsg(db);
    sqlite3_free(message);
    throw E(std::string(what) + ": " + text);
  }
}

}  // namespace

SqliteStorage::SqliteStorage(fs::path file) : file_(std::move(file)) {
  if (file_.has_parent_path()) {
    std::error_code ec;
    if (!fs::exists(file_.parent_path(), ec)) {
      fs::create_directories(file_.parent_path(), ec);
      if (ec)
        throw StorageOpenError("cannot create directory " + file_.parent_path().string() + ": " +
                               ec.message());
    }
  }
  // No SQLITE_OPEN_URI: the value is always a plain file name. NOMUTEX: mutex_ serialises us.
  int rc =
      sqlite3_open_v2(file_.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string reason = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw StorageOpenError("cannot open database " + file_.string() + ": " + reason);
  }
  try {
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    const std::string context = "cannot open database " + file_.string();
    {
      // journal_mode answers with the resulting mode; anything but "wal" means it was refused.
      Statement<StorageOpenError> wal(db_, "PRAGMA journal_mode=WAL", context);
      if (!wal.step() || wal.text(0) != "wal")
        throw StorageOpenError(context + ": cannot enable WAL journal mode");
    }
    execute<StorageOpenError>(
        db_,
        "CREATE TABLE IF NOT EXISTS files(ref TEXT PRIMARY KEY, media TEXT "
        "NOT NULL, size INTEGER NOT NULL, data BLOB NOT NULL, created INTEGER "
        "NOT NULL);"
        "CREATE TABLE IF NOT EXISTS names(name TEXT PRIMARY KEY, ref TEXT NOT "
        "NULL);",
        (context + ": creating tables failed").c_str());
    load_index();
  } catch (...) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw;
  }
}

SqliteStorage::~SqliteStorage() {
  sqlite3_close_v2(db_);
}

void SqliteStorage::load_index() {
  const std::string context = "cannot open database " + file_.string();
  Statement<StorageOpenError> files(db_, "SELECT ref, media, size FROM files", context);
  while (files.step()) {
    auto ref = normalize_ref(files.text(0));
    auto size = files.integer(2);
    if (!ref || size < 0) {
      spdlog::warn("storage: ignoring malformed row in {}: ref {}", file_.string(), files.text(0));
      continue;
    }
    index_.add_file(FileInfo{*ref, std::string(files.text(1)), static_cast<std::uint64_t>(size)});
  }
  Statement<StorageOpenError> names(db_, "SELECT name, ref FROM names", context);
  while (names.step()) {
    auto ref = normalize_ref(names.text(1));
    if (!ref) continue;
    index_.set_alias(std::string(names.text(0)), *ref);
  }
}

void SqliteStorage::put_blob(const FileInfo& info, std::string&& bytes) {
  auto created = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  std::lock_guard lock(mutex_);
  Statement<StorageError> insert(
      db_, "INSERT OR IGNORE INTO files(ref, media, size, data, created) VALUES(?, ?, ?, ?, ?)",
      "database " + file_.string());
  insert.bind(1, info.ref);
  insert.bind(2, info.media);
  insert.bind(3, static_cast<std::int64_t>(info.size));
  insert.bind_blob(4, bytes);
  insert.bind(5, static_cast<std::int64_t>(created));
  insert.step();
}

void SqliteStorage::put_alias(const std::string& alias, const std::string& ref) {
  std::lock_guard lock(mutex_);
  Statement<StorageError> upsert(
      db_,
      "INSERT INTO names(name, ref) VALUES(?, ?) ON CONFLICT(name) DO UPDATE SET ref = "
      "excluded.ref",
      "database " + file_.string());
  upsert.bind(1, alias);
  upsert.bind(2, ref);
  upsert.step();
}

std::shared_ptr<const std::string> SqliteStorage::get_blob(const FileInfo& info) const {
  std::lock_guard lock(mutex_);
  if (auto it = shared_.find(info.ref); it != shared_.end()) {
    if (auto bytes = it->second.lock()) return bytes;
  }
  Statement<StorageError> select(db_, "SELECT data FROM files WHERE ref = ?",
                                 "database " + file_.string());
  select.bind(1, info.ref);
  if (!select.step()) throw StorageError("file " + info.ref + " is missing from " + file_.string());
  auto bytes = std::make_shared<const std::string>(select.blob(0));
  // Forget blobs nobody holds any more, so the map stays as small as the set of live blobs.
  if (shared_.size() >= 64)
    std::erase_if(shared_, [](const auto& e) { return e.second.expired(); });
  shared_[info.ref] = bytes;
  return bytes;
}

}  // namespace wasimoff::broker
