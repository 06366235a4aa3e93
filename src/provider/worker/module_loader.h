// Keeps compiled modules (.so files from the engine's cache) loaded in a worker process, so a
// task costs one instantiation and never a dlopen (docs/provider-internals.md §3.2). At most
// `max_loaded` modules stay loaded; the least recently used one is dlclose'd beyond that.
//
// Modules arrive as open file descriptors (the worker may run as a user that cannot open the
// provider's cache by path) and are loaded through /proc/self/fd/<n>. The descriptor stays open
// while the module is loaded: the dynamic loader recognises objects it already has by name, and
// an open descriptor's number cannot be reused for another file, so no two loaded modules ever
// share a name.
#pragma once

#include <wasm-rt.h>

#include <cstddef>
#include <cstdint>
#include <list>
#include <stdexcept>
#include <string>

#include "provider/wasi/instance.h"

namespace wasimoff::worker {

struct LoadedModule {
  std::string key;
  int fd = -1;
  void* handle = nullptr;
  std::size_t instance_size = 0;
  std::uint32_t initial_pages = 0;
  // The glue's wasimoff_instantiate: both WASI instances, the module uses those it imports.
  void (*instantiate)(void* instance, Z_wasi_snapshot_preview1_instance_t* preview1,
                      Z_wasi_unstable_instance_t* unstable) = nullptr;
  void (*free_instance)(void* instance) = nullptr;
  void (*start)(void* instance) = nullptr;
  wasm_rt_memory_t* (*memory)(void* instance) = nullptr;
};

// A module that cannot be loaded; what() is the full `unsupported module: …` text.
class ModuleLoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ModuleLoader {
 public:
  explicit ModuleLoader(std::size_t max_loaded = 32) : max_loaded_(max_loaded) {}
  ~ModuleLoader();
  ModuleLoader(const ModuleLoader&) = delete;
  ModuleLoader& operator=(const ModuleLoader&) = delete;

  // The loaded module for `key`: taken from the loaded ones (then `fd` is closed), or loaded from
  // `fd` (dlopen + init; the loader owns `fd` from now on). Requires wasm_rt_init() to have run.
  // Throws ModuleLoadError (closing `fd`). The reference is valid until the next load().
  const LoadedModule& load(const std::string& key, int fd);

  // Whether `key` is loaded (load(key, -1) then succeeds).
  bool contains(const std::string& key) const;
  std::size_t loaded() const { return modules_.size(); }

 private:
  std::size_t max_loaded_;
  std::list<LoadedModule> modules_;  // most recently used first
};

}  // namespace wasimoff::worker
