// fuzz_zip: read_zip (common/zip_archive.h) on untrusted archives, as the Broker receives task
// rootfs uploads and the provider unpacks them. Small limits (64 entries, 64 KiB expanded) so
// the limit checks are reached quickly.
//
// Checks: read_zip either throws ZipError (any other exception escapes and is reported as a
// crash) or delivers at most 64 entries with at most 64 KiB of data in total, every name
// relative and normalised ('/'-separated, no empty, "." or ".." segment, no leading or trailing
// '/', no NUL byte), and directories without data. The vector overload delivers the same.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/zip_archive.h"
#include "fuzz_check.h"

namespace {

bool normalised(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.back() == '/') return false;
  if (name.find('\0') != std::string_view::npos) return false;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    const std::string_view seg = name.substr(start, end - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    start = end + 1;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  wasimoff::ZipReadLimits limits;
  limits.max_entries = 64;
  limits.max_expanded_bytes = 64 * 1024;

  std::vector<wasimoff::ZipEntry> streamed;
  bool rejected = false;
  std::uint64_t total = 0;
  try {
    wasimoff::read_zip(bytes, limits, [&](wasimoff::ZipEntry&& entry) {
      FUZZ_CHECK(normalised(entry.name), "entry name is not relative and normalised");
      FUZZ_CHECK(!entry.is_directory || entry.data.empty(), "directory entry with data");
      total += entry.data.size();
      FUZZ_CHECK(total <= limits.max_expanded_bytes, "more expanded bytes than the limit");
      streamed.push_back(std::move(entry));
      FUZZ_CHECK(streamed.size() <= limits.max_entries, "more entries than the limit");
    });
  } catch (const wasimoff::ZipError& e) {
    FUZZ_CHECK(e.what()[0] != '\0', "ZipError without a reason");
    rejected = true;
  }

  try {
    const auto all = wasimoff::read_zip(bytes, limits);
    FUZZ_CHECK(!rejected, "vector overload accepts what the streaming overload rejects");
    FUZZ_CHECK(all.size() == streamed.size(), "vector overload delivers other entries");
    for (std::size_t i = 0; i < all.size(); ++i) {
      FUZZ_CHECK(all[i].name == streamed[i].name && all[i].data == streamed[i].data &&
                     all[i].is_directory == streamed[i].is_directory,
                 "vector overload delivers other entries");
    }
  } catch (const wasimoff::ZipError&) {
    FUZZ_CHECK(rejected, "vector overload rejects what the streaming overload accepts");
  }
  return 0;
}
