// Test helper: writes ZIP archives byte by byte, so tests can produce exactly the hostile or
// unusual entries a normal ZIP writer refuses to create (NUL bytes and ".." in names, symlink
// modes, the encryption flag, unknown methods, forced ZIP64 records). Data is always stored
// uncompressed; `method` is only the number written into the headers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wasimoff::ziptest {

inline std::uint32_t crc32(std::string_view data) {
  std::uint32_t crc = 0xffffffffu;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

struct RawEntry {
  std::string name;
  std::string data;
  std::uint16_t method = 0;     // 0 stored; anything else is only written into the headers
  std::uint16_t flags = 0;      // general purpose bits (bit 0 = encrypted)
  std::uint32_t unix_mode = 0;  // written into the external attributes (opsys Unix) if != 0
  std::uint32_t declared_size = 0xffffffffu;  // override of the uncompressed size (default: real)
};

class RawZip {
 public:
  explicit RawZip(bool zip64 = false) : zip64_(zip64) {}

  void add(RawEntry e) { entries_.push_back(std::move(e)); }

  std::string bytes() const {
    std::string out, central;
    for (const RawEntry& e : entries_) {
      std::uint32_t offset = static_cast<std::uint32_t>(out.size());
      std::uint32_t crc = crc32(e.data);
      std::uint64_t size = e.data.size();
      std::uint64_t usize = e.declared_size == 0xffffffffu ? size : e.declared_size;
      std::string extra;
      if (zip64_) {
        u16(extra, 0x0001);
        u16(extra, 16);
        u64(extra, usize);
        u64(extra, size);
      }
      // local header
      u32(out, 0x04034b50);
      u16(out, zip64_ ? 45 : 20);
      u16(out, e.flags);
      u16(out, e.method);
      u16(out, 0);     // time
      u16(out, 0x21);  // date 1980-01-01
      u32(out, crc);
      u32(out, zip64_ ? 0xffffffffu : static_cast<std::uint32_t>(size));
      u32(out, zip64_ ? 0xffffffffu : static_cast<std::uint32_t>(usize));
      u16(out, static_cast<std::uint16_t>(e.name.size()));
      u16(out, static_cast<std::uint16_t>(extra.size()));
      out += e.name;
      out += extra;
      out += e.data;
      // central directory header
      u32(central, 0x02014b50);
      u16(central, static_cast<std::uint16_t>((e.unix_mode ? 3u << 8 : 0u) | (zip64_ ? 45 : 20)));
      u16(central, zip64_ ? 45 : 20);
      u16(central, e.flags);
      u16(central, e.method);
      u16(central, 0);
      u16(central, 0x21);
      u32(central, crc);
      u32(central, zip64_ ? 0xffffffffu : static_cast<std::uint32_t>(size));
      u32(central, zip64_ ? 0xffffffffu : static_cast<std::uint32_t>(usize));
      u16(central, static_cast<std::uint16_t>(e.name.size()));
      u16(central, static_cast<std::uint16_t>(extra.size()));
      u16(central, 0);  // comment
      u16(central, 0);  // disk
      u16(central, 0);  // internal attributes
      u32(central, e.unix_mode << 16);
      u32(central, offset);
      central += e.name;
      central += extra;
    }
    std::uint64_t cd_offset = out.size();
    out += central;
    std::uint64_t count = entries_.size();
    if (zip64_) {
      std::uint64_t rec = out.size();
      u32(out, 0x06064b50);
      u64(out, 44);
      u16(out, 45);
      u16(out, 45);
      u32(out, 0);
      u32(out, 0);
      u64(out, count);
      u64(out, count);
      u64(out, central.size());
      u64(out, cd_offset);
      u32(out, 0x07064b50);
      u32(out, 0);
      u64(out, rec);
      u32(out, 1);
    }
    u32(out, 0x06054b50);
    u16(out, 0);
    u16(out, 0);
    u16(out, zip64_ ? 0xffff : static_cast<std::uint16_t>(count));
    u16(out, zip64_ ? 0xffff : static_cast<std::uint16_t>(count));
    u32(out, zip64_ ? 0xffffffffu : static_cast<std::uint32_t>(central.size()));
    u32(out, zip64_ ? 0xffffffffu : static_cast<std::uint32_t>(cd_offset));
    u16(out, 0);
    return out;
  }

 private:
  static void u16(std::string& s, std::uint16_t v) {
    s.push_back(static_cast<char>(v & 0xff));
    s.push_back(static_cast<char>(v >> 8));
  }
  static void u32(std::string& s, std::uint32_t v) {
    u16(s, static_cast<std::uint16_t>(v & 0xffff));
    u16(s, static_cast<std::uint16_t>(v >> 16));
  }
  static void u64(std::string& s, std::uint64_t v) {
    u32(s, static_cast<std::uint32_t>(v & 0xffffffffu));
    u32(s, static_cast<std::uint32_t>(v >> 32));
  }

  bool zip64_;
  std::vector<RawEntry> entries_;
};

}  // namespace wasimoff::ziptest
