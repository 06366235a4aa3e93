#include "common/zip_archive.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <zip.h>

#include <cstring>
#include <memory>
#include <optional>

namespace wasimoff {
namespace {

// --- raw central-directory scan ----------------------------------------------------------------
// libzip replaces NUL bytes inside names with spaces, so the NUL rule can only be checked on the
// raw bytes. This scan reads just the names from the central directory; libzip (which reads the
// directory in the same order) does everything else.

std::uint64_t le(std::string_view b, std::size_t off, int n) {
  std::uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[off + i]);
  return v;
}

std::vector<std::string> raw_names(std::string_view b) {
  constexpr std::uint32_t kEocd = 0x06054b50, kLoc64 = 0x07064b50, kEocd64 = 0x06064b50,
                          kCentral = 0x02014b50;
  if (b.size() < 22) throw ZipError("not a ZIP archive (too short)");
  std::optional<std::size_t> eocd;
  std::size_t lowest = b.size() > 22 + 0xffff ? b.size() - 22 - 0xffff : 0;
  for (std::size_t pos = b.size() - 22;; --pos) {
    if (le(b, pos, 4) == kEocd) {
      eocd = pos;
      break;
    }
    if (pos == lowest) break;
  }
  if (!eocd) throw ZipError("not a ZIP archive (no end of central directory)");
  std::uint64_t count = le(b, *eocd + 10, 2);
  std::uint64_t cd_size = le(b, *eocd + 12, 4);
  std::uint64_t cd_off = le(b, *eocd + 16, 4);
  std::uint64_t cd_end = *eocd;
  if (count == 0xffff || cd_size == 0xffffffff || cd_off == 0xffffffff) {
    if (*eocd >= 20 && le(b, *eocd - 20, 4) == kLoc64) {
      std::uint64_t rec = le(b, *eocd - 20 + 8, 8);
      if (rec > b.size() || b.size() - rec < 56 || le(b, rec, 4) != kEocd64)
        throw ZipError("corrupt ZIP64 end of central directory");
      count = le(b, rec + 32, 8);
      cd_size = le(b, rec + 40, 8);
      cd_off = le(b, rec + 48, 8);
      cd_end = rec;
    }
  }
  // Archives with data in front (self-extractors) have shifted offsets: the directory then ends
  // right before the end record.
  if (cd_size > cd_end) throw ZipError("corrupt central directory");
  if (cd_off + cd_size != cd_end) cd_off = cd_end - cd_size;
  std::vector<std::string> names;
  std::size_t pos = cd_off;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (pos + 46 > cd_end || le(b, pos, 4) != kCentral) throw ZipError("corrupt central directory");
    std::size_t name_len = le(b, pos + 28, 2), extra_len = le(b, pos + 30, 2),
                comment_len = le(b, pos + 32, 2);
    if (pos + 46 + name_len > cd_end) throw ZipError("corrupt central directory");
    names.emplace_back(b.substr(pos + 46, name_len));
    pos += 46 + name_len + extra_len + comment_len;
  }
  return names;
}

// Quotes a name for an error message (bounded, control bytes escaped).
std::string quoted(std::string_view name) {
  std::string out = "\"";
  for (char c : name.substr(0, 200)) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '"' || c == '\\')
      out += fmt::format("\\x{:02x}", u);
    else
      out += c;
  }
  if (name.size() > 200) out += "…";
  return out + "\"";
}

struct CheckedName {
  std::string name;  // normalised; empty = the root directory itself
  bool is_directory;
};

CheckedName check_name(std::string_view raw) {
  if (raw.find('\0') != std::string_view::npos)
    throw ZipError(fmt::format("entry {} contains a NUL byte", quoted(raw)));
  if (raw.empty()) throw ZipError("entry with an empty name");
  if (raw.front() == '/') throw ZipError(fmt::format("entry {} has an absolute name", quoted(raw)));
  CheckedName out{"", raw.back() == '/'};
  std::size_t start = 0;
  while (start <= raw.size()) {
    std::size_t end = raw.find('/', start);
    if (end == std::string_view::npos) end = raw.size();
    std::string_view seg = raw.substr(start, end - start);
    if (seg == "..") throw ZipError(fmt::format("entry {} has a \"..\" segment", quoted(raw)));
    if (!seg.empty() && seg != ".") {
      if (!out.name.empty()) out.name += '/';
      out.name += seg;
    }
    start = end + 1;
  }
  if (out.name.empty() && !out.is_directory)
    throw ZipError(fmt::format("entry {} has no file name", quoted(raw)));
  return out;
}

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};
struct FileCloser {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};

using ZipHandle = std::unique_ptr<zip_t, ZipCloser>;

ZipHandle open_archive(std::string_view bytes) {
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &err);
  if (!src) {
    std::string msg = zip_error_strerror(&err);
    zip_error_fini(&err);
    throw ZipError("cannot read archive: " + msg);
  }
  ZipHandle za(zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &err));
  if (!za) {
    zip_source_free(src);
    std::string msg = zip_error_strerror(&err);
    zip_error_fini(&err);
    throw ZipError("not a valid ZIP archive: " + msg);
  }
  zip_error_fini(&err);
  return za;
}

// One entry as checked in the first pass (metadata only).
struct Planned {
  CheckedName name;
  std::uint64_t size;
  std::int64_t mtime;
};

// Checks entry `i` (named `raw` in the central directory): no encryption, stored or deflated,
// no links or special files, directories without data, the running expanded `total` within
// the limit.
Planned plan_entry(zip_t* za, zip_uint64_t i, const std::string& raw, const ZipReadLimits& limits,
                   std::uint64_t& total) {
  CheckedName cn = check_name(raw);
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(za, i, 0, &st) != 0)
    throw ZipError(fmt::format("entry {}: {}", quoted(raw), zip_strerror(za)));
  if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
    throw ZipError(fmt::format("entry {} is encrypted", quoted(raw)));
  if (!(st.valid & ZIP_STAT_COMP_METHOD) ||
      (st.comp_method != ZIP_CM_STORE && st.comp_method != ZIP_CM_DEFLATE))
    throw ZipError(fmt::format("entry {} uses unsupported compression method {}", quoted(raw),
                               st.comp_method));
  zip_uint8_t opsys = 0;
  zip_uint32_t attr = 0;
  if (zip_file_get_external_attributes(za, i, 0, &opsys, &attr) == 0 && opsys == ZIP_OPSYS_UNIX) {
    unsigned mode = (attr >> 16) & S_IFMT;
    if (mode == S_IFLNK) throw ZipError(fmt::format("entry {} is a symbolic link", quoted(raw)));
    if (mode == S_IFDIR) {
      cn.is_directory = true;
    } else if (mode != 0 && mode != S_IFREG) {
      throw ZipError(fmt::format("entry {} is not a regular file or directory", quoted(raw)));
    }
  }
  std::uint64_t size = (st.valid & ZIP_STAT_SIZE) ? st.size : 0;
  if (cn.is_directory && size != 0)
    throw ZipError(fmt::format("directory entry {} has data", quoted(raw)));
  if (size > limits.max_expanded_bytes || total + size > limits.max_expanded_bytes)
    throw ZipError(
        fmt::format("expanded size exceeds the limit of {} bytes", limits.max_expanded_bytes));
  total += size;
  std::int64_t mtime = (st.valid & ZIP_STAT_MTIME) ? static_cast<std::int64_t>(st.mtime) : 0;
  return {std::move(cn), size, mtime};
}

// Reads entry `i`'s data, exactly `size` bytes; libzip verifies the CRC at its end.
std::string read_entry_data(zip_t* za, zip_uint64_t i, const std::string& raw, std::uint64_t size) {
  std::unique_ptr<zip_file_t, FileCloser> f(zip_fopen_index(za, i, 0));
  if (!f) throw ZipError(fmt::format("entry {}: {}", quoted(raw), zip_strerror(za)));
  std::string data(size, '\0');
  std::uint64_t got = 0;
  while (got < size) {
    zip_int64_t r = zip_fread(f.get(), data.data() + got, size - got);
    if (r < 0) throw ZipError(fmt::format("entry {}: {}", quoted(raw), zip_file_strerror(f.get())));
    if (r == 0) throw ZipError(fmt::format("entry {} is shorter than declared", quoted(raw)));
    got += static_cast<std::uint64_t>(r);
  }
  char extra;
  zip_int64_t r = zip_fread(f.get(), &extra, 1);  // also makes libzip verify the CRC
  if (r < 0) throw ZipError(fmt::format("entry {}: {}", quoted(raw), zip_file_strerror(f.get())));
  if (r > 0) throw ZipError(fmt::format("entry {} is larger than declared", quoted(raw)));
  return data;
}

}  // namespace

void read_zip(std::string_view bytes, const ZipReadLimits& limits,
              const std::function<void(ZipEntry&&)>& sink) {
  std::vector<std::string> names = raw_names(bytes);
  if (names.size() > limits.max_entries)
    throw ZipError(
        fmt::format("too many entries ({}, at most {})", names.size(), limits.max_entries));
  ZipHandle za = open_archive(bytes);
  zip_int64_t n = zip_get_num_entries(za.get(), 0);
  if (n < 0 || static_cast<std::uint64_t>(n) != names.size())
    throw ZipError("inconsistent central directory");

  // Pass 1: metadata only, so that nothing is inflated from an archive that will be refused.
  std::vector<Planned> plan;
  plan.reserve(names.size());
  std::uint64_t total = 0;
  for (zip_uint64_t i = 0; i < names.size(); ++i)
    plan.push_back(plan_entry(za.get(), i, names[i], limits, total));

  // Pass 2: data.
  for (zip_uint64_t i = 0; i < plan.size(); ++i) {
    Planned& p = plan[i];
    if (p.name.name.empty()) continue;  // "./" and friends: the root itself
    ZipEntry entry;
    entry.name = std::move(p.name.name);
    entry.is_directory = p.name.is_directory;
    entry.mtime = p.mtime;
    if (!entry.is_directory) entry.data = read_entry_data(za.get(), i, names[i], p.size);
    sink(std::move(entry));
  }
}

std::vector<ZipEntry> read_zip(std::string_view bytes, const ZipReadLimits& limits) {
  std::vector<ZipEntry> out;
  read_zip(bytes, limits, [&](ZipEntry&& e) { out.push_back(std::move(e)); });
  return out;
}

// --- writer -------------------------------------------------------------------------------------

ZipWriter::ZipWriter() {
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = zip_source_buffer_create(nullptr, 0, 0, &err);
  if (!src) {
    zip_error_fini(&err);
    throw std::runtime_error("zip: cannot create buffer");
  }
  zip_t* za = zip_open_from_source(src, ZIP_TRUNCATE, &err);
  if (!za) {
    zip_source_free(src);
    std::string msg = zip_error_strerror(&err);
    zip_error_fini(&err);
    throw std::runtime_error("zip: cannot create archive: " + msg);
  }
  zip_error_fini(&err);
  zip_source_keep(src);  // we read the result back after zip_close()
  zip_ = za;
  source_ = src;
}

ZipWriter::~ZipWriter() {
  if (!finished_ && zip_) zip_discard(static_cast<zip_t*>(zip_));
  if (source_) zip_source_free(static_cast<zip_source_t*>(source_));
}

void ZipWriter::add_directory(std::string_view name, std::int64_t mtime) {
  auto* za = static_cast<zip_t*>(zip_);
  std::string n(name);
  zip_int64_t idx = zip_dir_add(za, n.c_str(), ZIP_FL_ENC_UTF_8);
  if (idx < 0)
    throw std::runtime_error(fmt::format("zip: cannot add {}: {}", quoted(n), zip_strerror(za)));
  zip_file_set_mtime(za, idx, static_cast<time_t>(mtime), 0);
  zip_file_set_external_attributes(za, idx, 0, ZIP_OPSYS_UNIX, (S_IFDIR | 0755u) << 16);
  ++entries_;
}

void ZipWriter::add_file(std::string_view name, std::string data, std::int64_t mtime) {
  auto* za = static_cast<zip_t*>(zip_);
  uncompressed_ += data.size();
  const std::string& kept = data_.emplace_back(std::move(data));
  zip_source_t* s = zip_source_buffer(za, kept.data(), kept.size(), 0);
  if (!s) throw std::runtime_error("zip: out of memory");
  std::string n(name);
  zip_int64_t idx = zip_file_add(za, n.c_str(), s, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE);
  if (idx < 0) {
    zip_source_free(s);
    throw std::runtime_error(fmt::format("zip: cannot add {}: {}", quoted(n), zip_strerror(za)));
  }
  zip_set_file_compression(za, idx, ZIP_CM_DEFLATE, 0);
  zip_file_set_mtime(za, idx, static_cast<time_t>(mtime), 0);
  zip_file_set_external_attributes(za, idx, 0, ZIP_OPSYS_UNIX, (S_IFREG | 0644u) << 16);
  ++entries_;
}

std::string ZipWriter::finish() {
  if (finished_) throw std::logic_error("ZipWriter::finish called twice");
  finished_ = true;
  if (entries_ == 0) {
    // libzip removes an empty archive instead of writing one; an empty ZIP is just the end record.
    zip_discard(static_cast<zip_t*>(zip_));
    zip_ = nullptr;
    return std::string("PK\x05\x06", 4) + std::string(18, '\0');
  }
  auto* za = static_cast<zip_t*>(zip_);
  auto* src = static_cast<zip_source_t*>(source_);
  if (zip_close(za) != 0) {
    std::string msg = zip_strerror(za);
    zip_discard(za);
    zip_ = nullptr;
    throw std::runtime_error("zip: cannot finish archive: " + msg);
  }
  zip_ = nullptr;
  data_.clear();
  if (zip_source_open(src) < 0) throw std::runtime_error("zip: cannot read back the archive");
  zip_stat_t st;
  zip_stat_init(&st);
  zip_source_stat(src, &st);
  std::string out;
  out.resize(st.size);
  zip_int64_t got = zip_source_read(src, out.data(), out.size());
  zip_source_close(src);
  if (got < 0 || static_cast<zip_uint64_t>(got) != st.size)
    throw std::runtime_error("zip: cannot read back the archive");
  return out;
}

}  // namespace wasimoff
