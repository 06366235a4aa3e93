#include "provider/worker/module_loader.h"

#include <dlfcn.h>
#include <link.h>
#include <unistd.h>

#include "provider/engine/module_abi.h"

namespace wasimoff::worker {

namespace {

template <typename Fn>
Fn symbol(void* handle, const char* name) {
  void* p = dlsym(handle, name);
  if (!p)
    throw ModuleLoadError(std::string("unsupported module: compiled module lacks symbol ") + name);
  return reinterpret_cast<Fn>(p);
}

void unload(LoadedModule& m) {
  dlclose(m.handle);
  ::close(m.fd);
}

}  // namespace

ModuleLoader::~ModuleLoader() {
  for (LoadedModule& m : modules_) unload(m);
}

bool ModuleLoader::contains(const std::string& key) const {
  for (const LoadedModule& m : modules_)
    if (m.key == key) return true;
  return false;
}

const LoadedModule& ModuleLoader::load(const std::string& key, int fd) {
  for (auto it = modules_.begin(); it != modules_.end(); ++it) {
    if (it->key == key) {
      if (fd >= 0) ::close(fd);
      modules_.splice(modules_.begin(), modules_, it);
      return modules_.front();
    }
  }
  if (fd < 0) throw ModuleLoadError("unsupported module: compiled module not attached");
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  // The loader returns an object it already has when the name matches (its path or its SONAME)
  // instead of loading ours: that would run another module's code for this task. The engine's
  // inspection refuses SONAME and NODELETE; this check does not rely on it.
  if (void* existing = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD)) {
    dlclose(existing);
    ::close(fd);
    throw ModuleLoadError("unsupported module: compiled module collides with a loaded one");
  }
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    ::close(fd);
    // dlerror() names our path and the loader's reason; nothing of the module's content.
    const char* e = dlerror();
    throw ModuleLoadError(std::string("unsupported module: cannot load compiled module: ") +
                          (e ? e : "unknown error"));
  }
  LoadedModule m;
  m.key = key;
  m.fd = fd;
  m.handle = handle;
  link_map* map = nullptr;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &map) != 0 || !map || !map->l_name || path != map->l_name) {
    unload(m);
    throw ModuleLoadError("unsupported module: compiled module collides with a loaded one");
  }
  try {
    auto abi = symbol<std::uint32_t (*)()>(handle, engine::kSymAbiVersion);
    if (abi() != engine::kModuleAbi)
      throw ModuleLoadError("unsupported module: compiled for another engine ABI version");
    m.instance_size = symbol<std::size_t (*)()>(handle, engine::kSymInstanceSize)();
    m.initial_pages = symbol<std::uint32_t (*)()>(handle, engine::kSymInitialPages)();
    m.instantiate = symbol<decltype(m.instantiate)>(handle, engine::kSymInstantiate);
    m.free_instance = symbol<decltype(m.free_instance)>(handle, engine::kSymFree);
    m.start = symbol<decltype(m.start)>(handle, engine::kSymStart);
    m.memory = symbol<decltype(m.memory)>(handle, engine::kSymMemory);
    symbol<void (*)()>(handle, engine::kSymInitModule)();  // registers the module's types, once
  } catch (...) {
    unload(m);
    throw;
  }
  modules_.push_front(std::move(m));
  while (modules_.size() > max_loaded_) {
    unload(modules_.back());
    modules_.pop_back();
  }
  return modules_.front();
}

}  // namespace wasimoff::worker
