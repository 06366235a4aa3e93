// Helpers for the storage tests: sample file contents and file access (TempDir is shared).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "temp_dir.h"

namespace wasimoff::broker::testing {

// The shared temporary directory (tests/support/temp_dir.h).
using wasimoff::testing::TempDir;

// A minimal WebAssembly header followed by `payload` (distinct payloads → distinct refs).
inline std::string wasm(const std::string& payload = "") {
  return std::string("\0asm\x01\0\0\0", 8) + payload;
}

// An empty ZIP archive (end-of-central-directory record only).
inline std::string empty_zip() {
  return std::string("PK\x05\x06", 4) + std::string(18, '\0');
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline void write_file(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

}  // namespace wasimoff::broker::testing
