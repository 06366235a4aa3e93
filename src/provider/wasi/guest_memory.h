// Bounds-checked access to a module's linear memory. Every guest pointer a WASI function receives
// goes through here; an access that does not fit entirely inside the current memory size fails
// (the caller answers EFAULT) instead of touching host memory. Values are little-endian and may
// be unaligned.
#pragma once

#include <wasm-rt.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace wasimoff::wasi {

class GuestMemory {
 public:
  explicit GuestMemory(const wasm_rt_memory_t* memory) : memory_(memory) {}

  std::uint64_t size() const { return memory_ ? memory_->size : 0; }

  bool in_bounds(std::uint32_t ptr, std::uint64_t len) const {
    return static_cast<std::uint64_t>(ptr) + len <= size();
  }

  // A host pointer to [ptr, ptr+len), or nullptr when out of bounds.
  std::uint8_t* span(std::uint32_t ptr, std::uint64_t len) const {
    return in_bounds(ptr, len) ? memory_->data + ptr : nullptr;
  }

  // A view of [ptr, ptr+len); `ok` is false when out of bounds.
  std::string_view view(std::uint32_t ptr, std::uint32_t len, bool* ok) const {
    std::uint8_t* p = span(ptr, len);
    *ok = p != nullptr;
    return p ? std::string_view(reinterpret_cast<const char*>(p), len) : std::string_view();
  }

  template <typename T>
  bool load(std::uint32_t ptr, T* out) const {
    std::uint8_t* p = span(ptr, sizeof(T));
    if (!p) return false;
    std::memcpy(out, p, sizeof(T));
    return true;
  }

  template <typename T>
  bool store(std::uint32_t ptr, T value) const {
    std::uint8_t* p = span(ptr, sizeof(T));
    if (!p) return false;
    std::memcpy(p, &value, sizeof(T));
    return true;
  }

  bool write_bytes(std::uint32_t ptr, std::string_view bytes) const {
    std::uint8_t* p = span(ptr, bytes.size());
    if (!p) return false;
    if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
    return true;
  }

 private:
  const wasm_rt_memory_t* memory_;
};

static_assert(std::endian::native == std::endian::little,
              "guest memory is little-endian; a big-endian host would need byte swapping");

}  // namespace wasimoff::wasi
