// ZIP archives in memory (libzip): reading a task's rootfs with the safety rules of
// docs/provider-internals.md §1.1, and writing the artifacts archive of a finished task.
//
// Reading never touches the disk and never trusts the archive: names are checked and normalised
// before anything is decompressed, the declared expanded size is checked against a limit first
// (cheap rejection of ZIP bombs), and the bytes actually produced are bounded again while reading.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace wasimoff {

// One entry of an archive. `name` is relative and normalised: '/'-separated, no empty, "." or
// ".." segments, no leading or trailing '/'. Directories have `is_directory` and no data.
struct ZipEntry {
  std::string name;
  bool is_directory = false;
  std::string data;
  std::int64_t mtime = 0;  // Unix seconds, from the entry's DOS timestamp
};

struct ZipReadLimits {
  // Sum of the (declared and actual) uncompressed sizes of all entries.
  std::uint64_t max_expanded_bytes = 256ull << 20;
  std::size_t max_entries = 100000;
};

// A rejected or unreadable archive. what() is a short reason without prefix, e.g.
// `entry "../x" has a ".." segment`; callers prefix it with their context ("rootfs: ").
class ZipError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads the archive in `bytes` and passes every entry to `sink` in archive order. Supported:
// stored and deflate entries, ZIP64. Rejected (ZipError): absolute names, ".." segments, NUL
// bytes in names, symlink entries (Unix mode S_IFLNK in the external attributes), encrypted
// entries, other compression methods, more entries or more expanded bytes than `limits`, and
// archives libzip cannot open or that fail their CRC. All names, methods and declared sizes are
// validated before the first entry is decompressed; only corrupt data (bad CRC, more bytes than
// declared) is detected later, after earlier entries may already have reached `sink`.
void read_zip(std::string_view bytes, const ZipReadLimits& limits,
              const std::function<void(ZipEntry&&)>& sink);

// Convenience: all entries as a vector.
std::vector<ZipEntry> read_zip(std::string_view bytes, const ZipReadLimits& limits = {});

// Builds an archive in memory; files are deflate-compressed. Names are taken as given (callers
// pass relative '/'-separated names); directories get a trailing '/'.
class ZipWriter {
 public:
  ZipWriter();
  ~ZipWriter();
  ZipWriter(const ZipWriter&) = delete;
  ZipWriter& operator=(const ZipWriter&) = delete;

  void add_directory(std::string_view name, std::int64_t mtime);
  void add_file(std::string_view name, std::string data, std::int64_t mtime);
  std::size_t entries() const { return entries_; }
  // Sum of the uncompressed sizes added so far (to enforce output bounds before finishing).
  std::uint64_t uncompressed_bytes() const { return uncompressed_; }

  // The finished archive. The writer must not be used afterwards.
  std::string finish();

 private:
  void* zip_ = nullptr;           // zip_t*
  void* source_ = nullptr;        // zip_source_t* holding the archive in memory
  std::deque<std::string> data_;  // file contents must outlive zip_close()
  std::size_t entries_ = 0;
  std::uint64_t uncompressed_ = 0;
  bool finished_ = false;
};

}  // namespace wasimoff
