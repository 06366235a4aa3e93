// The WASI functions the native provider implements, with their WebAssembly signatures
// (docs/provider-internals.md §3.5), for the two import module names it accepts:
//  * `wasi_snapshot_preview1` (preview 1): 46 functions, kSignatures;
//  * `wasi_unstable` (preview 0, the snapshot-0 witx): 45 functions, kUnstableSignatures — the
//    same names and core signatures minus `sock_accept`, which preview 0 does not have. Its ABI
//    differences are in the data, not the signatures (wasi/abi.h, namespace preview0).
// The tables are used twice:
//  * admission rejects a module whose import names or signatures differ from them (a mismatch
//    would be undefined behaviour in the generated C code) and rebuilds the import section from
//    these constants, so they are the only import names that reach the generated C, and
//  * wasi/exports.cc static_asserts that every C function it exports has exactly this signature.
// Types: 'i' = i32, 'I' = i64.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "provider/wasi/abi.h"

namespace wasimoff::wasi {

struct Signature {
  std::string_view name;
  std::string_view params;
  std::string_view results;
};

inline constexpr std::string_view kModuleName = "wasi_snapshot_preview1";
inline constexpr std::string_view kUnstableModuleName = "wasi_unstable";

// Every WASI import module name this provider implements (a module may import from either or
// both; each import keeps the ABI of the module name it names). Announced to the Broker
// (ProviderCapabilities.wasi), which then sends no module that imports from anything else.
// Whoever adds a WASI module name adds it here.
inline constexpr std::array<std::string_view, 2> kImportModules{kModuleName, kUnstableModuleName};

inline constexpr std::array<Signature, 46> kSignatures{{
    {"args_get", "ii", "i"},
    {"args_sizes_get", "ii", "i"},
    {"environ_get", "ii", "i"},
    {"environ_sizes_get", "ii", "i"},
    {"clock_res_get", "ii", "i"},
    {"clock_time_get", "iIi", "i"},
    {"fd_advise", "iIIi", "i"},
    {"fd_allocate", "iII", "i"},
    {"fd_close", "i", "i"},
    {"fd_datasync", "i", "i"},
    {"fd_fdstat_get", "ii", "i"},
    {"fd_fdstat_set_flags", "ii", "i"},
    {"fd_fdstat_set_rights", "iII", "i"},
    {"fd_filestat_get", "ii", "i"},
    {"fd_filestat_set_size", "iI", "i"},
    {"fd_filestat_set_times", "iIIi", "i"},
    {"fd_pread", "iiiIi", "i"},
    {"fd_prestat_get", "ii", "i"},
    {"fd_prestat_dir_name", "iii", "i"},
    {"fd_pwrite", "iiiIi", "i"},
    {"fd_read", "iiii", "i"},
    {"fd_readdir", "iiiIi", "i"},
    {"fd_renumber", "ii", "i"},
    {"fd_seek", "iIii", "i"},
    {"fd_sync", "i", "i"},
    {"fd_tell", "ii", "i"},
    {"fd_write", "iiii", "i"},
    {"path_create_directory", "iii", "i"},
    {"path_filestat_get", "iiiii", "i"},
    {"path_filestat_set_times", "iiiiIIi", "i"},
    {"path_link", "iiiiiii", "i"},
    {"path_open", "iiiiiIIii", "i"},
    {"path_readlink", "iiiiii", "i"},
    {"path_remove_directory", "iii", "i"},
    {"path_rename", "iiiiii", "i"},
    {"path_symlink", "iiiii", "i"},
    {"path_unlink_file", "iii", "i"},
    {"poll_oneoff", "iiii", "i"},
    {"proc_exit", "i", ""},
    {"proc_raise", "i", "i"},
    {"sched_yield", "", "i"},
    {"random_get", "ii", "i"},
    {"sock_accept", "iii", "i"},
    {"sock_recv", "iiiiii", "i"},
    {"sock_send", "iiiii", "i"},
    {"sock_shutdown", "ii", "i"},
}};

// wasi_unstable (snapshot-0 witx, WebAssembly/WASI phases/old/snapshot_0/witx/wasi_unstable.witx).
inline constexpr std::array<Signature, 45> kUnstableSignatures{{
    {"args_get", "ii", "i"},
    {"args_sizes_get", "ii", "i"},
    {"environ_get", "ii", "i"},
    {"environ_sizes_get", "ii", "i"},
    {"clock_res_get", "ii", "i"},
    {"clock_time_get", "iIi", "i"},
    {"fd_advise", "iIIi", "i"},
    {"fd_allocate", "iII", "i"},
    {"fd_close", "i", "i"},
    {"fd_datasync", "i", "i"},
    {"fd_fdstat_get", "ii", "i"},
    {"fd_fdstat_set_flags", "ii", "i"},
    {"fd_fdstat_set_rights", "iII", "i"},
    {"fd_filestat_get", "ii", "i"},
    {"fd_filestat_set_size", "iI", "i"},
    {"fd_filestat_set_times", "iIIi", "i"},
    {"fd_pread", "iiiIi", "i"},
    {"fd_prestat_get", "ii", "i"},
    {"fd_prestat_dir_name", "iii", "i"},
    {"fd_pwrite", "iiiIi", "i"},
    {"fd_read", "iiii", "i"},
    {"fd_readdir", "iiiIi", "i"},
    {"fd_renumber", "ii", "i"},
    {"fd_seek", "iIii", "i"},
    {"fd_sync", "i", "i"},
    {"fd_tell", "ii", "i"},
    {"fd_write", "iiii", "i"},
    {"path_create_directory", "iii", "i"},
    {"path_filestat_get", "iiiii", "i"},
    {"path_filestat_set_times", "iiiiIIi", "i"},
    {"path_link", "iiiiiii", "i"},
    {"path_open", "iiiiiIIii", "i"},
    {"path_readlink", "iiiiii", "i"},
    {"path_remove_directory", "iii", "i"},
    {"path_rename", "iiiiii", "i"},
    {"path_symlink", "iiiii", "i"},
    {"path_unlink_file", "iii", "i"},
    {"poll_oneoff", "iiii", "i"},
    {"proc_exit", "i", ""},
    {"proc_raise", "i", "i"},
    {"sched_yield", "", "i"},
    {"random_get", "ii", "i"},
    {"sock_recv", "iiiiii", "i"},
    {"sock_send", "iiiii", "i"},
    {"sock_shutdown", "ii", "i"},
}};

// The index of `name` in kSignatures, or kSignatures.size(). (An index, not a pointer: GCC's
// -fsanitize=undefined makes pointer comparisons non-constant in static_asserts.)
constexpr std::size_t signature_index(std::string_view name) {
  for (std::size_t i = 0; i < kSignatures.size(); ++i)
    if (kSignatures[i].name == name) return i;
  return kSignatures.size();
}

// The entry for `name`, or nullptr.
inline const Signature* find_signature(std::string_view name) {
  std::size_t i = signature_index(name);
  return i < kSignatures.size() ? &kSignatures[i] : nullptr;
}

// The same for kUnstableSignatures.
constexpr std::size_t unstable_signature_index(std::string_view name) {
  for (std::size_t i = 0; i < kUnstableSignatures.size(); ++i)
    if (kUnstableSignatures[i].name == name) return i;
  return kUnstableSignatures.size();
}

// The ABI of import module `module`, or false when we do not provide it.
constexpr bool import_module_abi(std::string_view module, Abi* abi) {
  if (module == kModuleName) {
    *abi = Abi::kPreview1;
    return true;
  }
  if (module == kUnstableModuleName) {
    *abi = Abi::kPreview0;
    return true;
  }
  return false;
}

// Our constant module name for `abi`.
constexpr std::string_view import_module_name(Abi abi) {
  return abi == Abi::kPreview0 ? kUnstableModuleName : kModuleName;
}

// The entry for function `name` of the WASI version `abi`, or nullptr.
inline const Signature* find_signature(Abi abi, std::string_view name) {
  if (abi == Abi::kPreview1) return find_signature(name);
  std::size_t i = unstable_signature_index(name);
  return i < kUnstableSignatures.size() ? &kUnstableSignatures[i] : nullptr;
}

template <std::size_t N>
constexpr bool signature_names_unique(const std::array<Signature, N>& table) {
  for (std::size_t i = 0; i < table.size(); ++i)
    for (std::size_t j = i + 1; j < table.size(); ++j)
      if (table[i].name == table[j].name) return false;
  return true;
}
static_assert(signature_names_unique(kSignatures), "duplicate WASI function in kSignatures");
static_assert(signature_names_unique(kUnstableSignatures),
              "duplicate WASI function in kUnstableSignatures");

// Preview 0 changed no core signature: every wasi_unstable function has the signature of its
// preview 1 namesake (the witx types that differ — whence values, filestat, subscription — are
// passed as an i32 value or through memory).
constexpr bool unstable_signatures_match_preview1() {
  for (const Signature& u : kUnstableSignatures) {
    std::size_t i = signature_index(u.name);
    if (i == kSignatures.size() || kSignatures[i].params != u.params ||
        kSignatures[i].results != u.results)
      return false;
  }
  return unstable_signature_index("sock_accept") == kUnstableSignatures.size();
}
static_assert(unstable_signatures_match_preview1());

}  // namespace wasimoff::wasi
