// SQLite backend specifics: the schema of docs/configuration.md §5.2, WAL, contents of the rows.
#include "broker/storage/sqlite_storage.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>

#include "storage_test_util.h"

namespace wasimoff::broker {
namespace {

using testing::TempDir;
using testing::wasm;

// A read-only second connection to inspect what the backend wrote.
class Inspector {
 public:
  explicit Inspector(const std::filesystem::path& file) {
    if (sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
      throw std::runtime_error("cannot open " + file.string());
  }
  ~Inspector() { sqlite3_close_v2(db_); }

  // Rows of `sql`, each column as text ("NULL" for null), columns joined with '|'.
  std::vector<std::string> rows(const std::string& sql) {
    std::vector<std::string> out;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
      throw std::runtime_error(sqlite3_errmsg(db_));
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      std::string row;
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        auto text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
        row += (i ? "|" : "") + std::string(text ? text : "NULL");
      }
      out.push_back(row);
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

TEST(SqliteStorage, SchemaIsExactlyTheDocumentedOne) {
  TempDir dir;
  SqliteStorage storage(dir / "files.db");
  Inspector db(dir / "files.db");
  // cid|name|type|notnull|default|pk
  EXPECT_EQ(db.rows("PRAGMA table_info(files)"),
            (std::vector<std::string>{"0|ref|TEXT|0|NULL|1", "1|media|TEXT|1|NULL|0",
                                      "2|size|INTEGER|1|NULL|0", "3|data|BLOB|1|NULL|0",
                                      "4|created|INTEGER|1|NULL|0"}));
  EXPECT_EQ(db.rows("PRAGMA table_info(names)"),
            (std::vector<std::string>{"0|name|TEXT|0|NULL|1", "1|ref|TEXT|1|NULL|0"}));
  EXPECT_EQ(db.rows("PRAGMA journal_mode"), std::vector<std::string>{"wal"});
}

TEST(SqliteStorage, RowsHoldContentMetadataAndAliases) {
  TempDir dir;
  SqliteStorage storage(dir / "files.db");
  auto before = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  auto info = storage.store(wasm("row"), "row.wasm");
  storage.store(wasm("row"), "again.wasm");
  auto after = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();

  Inspector db(dir / "files.db");
  EXPECT_EQ(db.rows("SELECT ref, media, size, length(data), typeof(data) FROM files"),
            std::vector<std::string>{info.ref + "|application/wasm|11|11|blob"});
  auto created = std::stoll(db.rows("SELECT created FROM files").at(0));
  EXPECT_GE(created, before);
  EXPECT_LE(created, after);
  EXPECT_EQ(db.rows("SELECT name, ref FROM names ORDER BY name"),
            (std::vector<std::string>{"again.wasm|" + info.ref, "row.wasm|" + info.ref}));
}

TEST(SqliteStorage, CreatesMissingParentDirectories) {
  TempDir dir;
  auto file = dir / "a" / "b" / "files.db";
  SqliteStorage storage(file);
  storage.store(wasm());
  EXPECT_TRUE(std::filesystem::exists(file));
}

TEST(SqliteStorage, AFileThatIsNoDatabaseFailsToOpen) {
  TempDir dir;
  testing::write_file(dir / "files.db", std::string(4096, 'x'));
  try {
    SqliteStorage storage(dir / "files.db");
    FAIL() << "opened a non-database";
  } catch (const StorageOpenError& e) {
    std::string message = e.what();
    EXPECT_EQ(message.rfind("cannot open database " + (dir / "files.db").string() + ": ", 0), 0u)
        << message;
    EXPECT_NE(message.find("not a database"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace wasimoff::broker
