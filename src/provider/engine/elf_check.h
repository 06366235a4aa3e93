// Inspection of a compiled module before any worker may load it (defence in depth behind module
// admission, docs/security.md).
//
// dlopen() runs code of the loaded object before the worker calls anything: initialisers
// (DT_INIT, DT_INIT_ARRAY, DT_PREINIT_ARRAY), IFUNC resolvers (R_*_IRELATIVE relocations and
// relocations against STT_GNU_IFUNC symbols), and the initialisers of every library in DT_NEEDED;
// relocations write wherever they point. Our compile pipeline links with -nostartfiles and
// generates no constructors, so a legitimate module has none of these. check_compiled_module()
// reads the object the way the dynamic loader does (program headers; the dynamic section found
// by address, which must agree with its file offset) and with allow-lists, not deny-lists:
//   * program headers: PT_LOAD (ascending, not overlapping, never writable and executable),
//     PT_DYNAMIC, PT_NOTE, PT_GNU_EH_FRAME, PT_GNU_STACK (required, not executable),
//     PT_GNU_RELRO, PT_GNU_PROPERTY — nothing else (no PT_INTERP, no PT_TLS);
//   * dynamic entries: exactly those ld writes for such an object (hash tables, string and symbol
//     tables, RELA and PLT relocations, symbol versions, BIND_NOW) — so no DT_INIT*, DT_FINI*,
//     DT_PREINIT_ARRAY, DT_SONAME (the loader matches loaded objects by it), DT_RPATH,
//     DT_RUNPATH, DT_AUDIT, DT_FILTER or text relocations; DT_FLAGS may only say BIND_NOW and
//     DT_FLAGS_1 only NOW (no NODELETE, which would keep an object loaded under its name);
//   * DT_NEEDED only libc.so.6 and libm.so.6 (already loaded in the worker);
//   * relocations: RELATIVE, GLOB_DAT, JUMP_SLOT and 64-bit absolute ones only, each writing
//     into a writable segment, none against an IFUNC symbol;
//   * section headers must exist: no non-empty .init/.fini/.init_array/.fini_array/.ctors/
//     .dtors/.preinit_array/.tdata/.tbss, no IFUNC or TLS symbols, no REL/RELR relocations;
//   * anything that is not a little-endian ELF64 shared object for this machine, or whose
//     tables point outside the file.
#pragma once

#include <string>
#include <string_view>

namespace wasimoff::engine {

// Empty when `elf` may be loaded; otherwise the reason (our own text).
std::string check_compiled_module(std::string_view elf);

}  // namespace wasimoff::engine
