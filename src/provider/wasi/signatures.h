// The 46 functions of `wasi_snapshot_preview1` with their WebAssembly signatures
// (provider.md §3.5). One table, used twice:
//  * the compile pipeline rejects a module whose import names or signatures differ from it (a
//    mismatch would be undefined behaviour in the generated C code), and
//  * wasi/exports.cc static_asserts that every C function it exports has exactly this signature.
// Types: 'i' = i32, 'I' = i64.
#pragma once

#include <array>
#include <string_view>

namespace wasimoff::wasi {

struct Signature {
  std::string_view name;
  std::string_view params;
  std::string_view results;
};

inline constexpr std::string_view kModuleName = "wasi_snapshot_preview1";

// Every import module name this provider implements: announced to the Broker
// (ProviderCapabilities.wasi), which then sends no module that imports from anything else.
// Whoever adds a WASI module name (e.g. `wasi_unstable`) adds it here.
inline constexpr std::array<std::string_view, 1> kImportModules{kModuleName};

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

constexpr bool signature_names_unique() {
  for (std::size_t i = 0; i < kSignatures.size(); ++i)
    for (std::size_t j = i + 1; j < kSignatures.size(); ++j)
      if (kSignatures[i].name == kSignatures[j].name) return false;
  return true;
}
static_assert(signature_names_unique(), "duplicate WASI function in kSignatures");

}  // namespace wasimoff::wasi
