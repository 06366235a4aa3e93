// Inspection of a compiled module before any worker may load it (defence in depth behind module
// admission, docs/security.md).
//
// dlopen() runs code of the loaded object before the worker calls anything: initialisers
// (DT_INIT, DT_INIT_ARRAY, DT_PREINIT_ARRAY), IFUNC resolvers (R_*_IRELATIVE relocations and
// relocations against STT_GNU_IFUNC symbols), and the initialisers of every library in DT_NEEDED.
// Our compile pipeline links with -nostartfiles and generates no constructors, so a legitimate
// module has none of these. check_compiled_module() reads the object the way the dynamic loader
// does (program headers, PT_DYNAMIC) and also its section headers, and rejects:
//   * any initialiser or finaliser (DT_INIT, DT_FINI, non-empty DT_INIT_ARRAY / DT_FINI_ARRAY /
//     DT_PREINIT_ARRAY, and sections .init_array/.fini_array/.preinit_array/.ctors/.dtors);
//   * IRELATIVE relocations and relocations or dynamic symbols of type STT_GNU_IFUNC;
//   * DT_NEEDED other than libc.so.6 and libm.so.6 (already loaded in the worker), DT_RPATH,
//     DT_RUNPATH, DT_AUDIT, DT_DEPAUDIT, DT_FILTER, DT_AUXILIARY, text relocations;
//   * a writable and executable segment, an executable stack (or no PT_GNU_STACK), PT_INTERP;
//   * anything that is not a little-endian ELF64 shared object for this machine, or whose
//     tables point outside the file.
#pragma once

#include <string>
#include <string_view>

namespace wasimoff::engine {

// Empty when `elf` may be loaded; otherwise the reason (our own text).
std::string check_compiled_module(std::string_view elf);

}  // namespace wasimoff::engine
