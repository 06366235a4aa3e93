#include "provider/worker/module_loader.h"

#include <dlfcn.h>

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

}  // namespace

ModuleLoader::~ModuleLoader() {
  for (LoadedModule& m : modules_) dlclose(m.handle);
}

const LoadedModule& ModuleLoader::load(const std::string& path) {
  for (auto it = modules_.begin(); it != modules_.end(); ++it) {
    if (it->path == path) {
      modules_.splice(modules_.begin(), modules_, it);
      return modules_.front();
    }
  }
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* e = dlerror();
    throw ModuleLoadError(std::string("unsupported module: cannot load compiled module: ") +
                          (e ? e : "unknown error"));
  }
  LoadedModule m;
  m.path = path;
  m.handle = handle;
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
    dlclose(handle);
    throw;
  }
  modules_.push_front(std::move(m));
  while (modules_.size() > max_loaded_) {
    dlclose(modules_.back().handle);
    modules_.pop_back();
  }
  return modules_.front();
}

}  // namespace wasimoff::worker
