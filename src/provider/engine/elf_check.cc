#include "provider/engine/elf_check.h"

#include <elf.h>
#include <fmt/format.h>

#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <vector>

namespace wasimoff::engine {

namespace {

#if defined(__x86_64__)
constexpr std::uint16_t kMachine = EM_X86_64;
constexpr std::uint32_t kIrelative = R_X86_64_IRELATIVE;
#elif defined(__aarch64__)
constexpr std::uint16_t kMachine = EM_AARCH64;
constexpr std::uint32_t kIrelative = R_AARCH64_IRELATIVE;
#else
#error "elf_check: add this machine's ELF constants"
#endif

struct Rejected {
  std::string why;
};

class Image {
 public:
  explicit Image(std::string_view bytes) : b_(bytes) {}

  // A copy of the T at `offset`, bounds-checked.
  template <typename T>
  T at(std::uint64_t offset) const {
    if (offset > b_.size() || sizeof(T) > b_.size() - offset)
      throw Rejected{"a table points outside the file"};
    T v;
    std::memcpy(&v, b_.data() + offset, sizeof(T));
    return v;
  }
  // The NUL-terminated string at `offset`, within [begin, begin + size).
  std::string_view string(std::uint64_t begin, std::uint64_t size, std::uint64_t offset) const {
    if (begin > b_.size() || size > b_.size() - begin || offset >= size)
      throw Rejected{"a string table points outside the file"};
    std::string_view table = b_.substr(begin, size);
    std::size_t end = table.find('\0', offset);
    if (end == std::string_view::npos) throw Rejected{"an unterminated string"};
    return table.substr(offset, end - offset);
  }
  std::size_t size() const { return b_.size(); }
  // Throws unless [offset, offset + len) lies inside the file (without overflowing).
  void require(std::uint64_t offset, std::uint64_t len, const char* what) const {
    if (offset > b_.size() || len > b_.size() - offset)
      throw Rejected{std::string(what) + " lies outside the file"};
  }

 private:
  std::string_view b_;
};

struct Segment {
  std::uint64_t vaddr, filesz, offset;
};

// File offset of virtual address `vaddr` (+ `len` bytes) through the PT_LOAD segments.
std::uint64_t file_offset(const std::vector<Segment>& loads, std::uint64_t vaddr,
                          std::uint64_t len) {
  for (const Segment& s : loads) {
    if (vaddr >= s.vaddr && vaddr - s.vaddr <= s.filesz && len <= s.filesz - (vaddr - s.vaddr))
      return s.offset + (vaddr - s.vaddr);
  }
  throw Rejected{"a dynamic table lies outside the loaded segments"};
}

void check_relocations(const Image& img, std::uint64_t offset, std::uint64_t size,
                       std::uint64_t entsize, std::optional<std::uint64_t> symtab) {
  if (size == 0) return;
  img.require(offset, size, "a relocation table");
  if (entsize != sizeof(Elf64_Rela)) throw Rejected{"unexpected relocation entry size"};
  if (size % entsize) throw Rejected{"a relocation table of odd size"};
  for (std::uint64_t i = 0; i < size / entsize; ++i) {
    auto rela = img.at<Elf64_Rela>(offset + i * entsize);
    std::uint32_t type = ELF64_R_TYPE(rela.r_info);
    std::uint32_t sym = ELF64_R_SYM(rela.r_info);
    if (type == kIrelative) throw Rejected{"an IRELATIVE relocation (IFUNC resolver)"};
    if (sym != 0 && symtab) {
      auto s = img.at<Elf64_Sym>(*symtab + std::uint64_t{sym} * sizeof(Elf64_Sym));
      if (ELF64_ST_TYPE(s.st_info) == STT_GNU_IFUNC)
        throw Rejected{"a relocation against an IFUNC symbol"};
    }
  }
}

void check(const Image& img) {
  auto eh = img.at<Elf64_Ehdr>(0);
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) throw Rejected{"not an ELF file"};
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
    throw Rejected{"not a little-endian ELF64 file"};
  if (eh.e_type != ET_DYN) throw Rejected{"not a shared object"};
  if (eh.e_machine != kMachine) throw Rejected{"built for another machine"};
  if (eh.e_phentsize != sizeof(Elf64_Phdr)) throw Rejected{"unexpected program header size"};

  // --- the loader's view: program headers and PT_DYNAMIC ---------------------------------------
  std::vector<Segment> loads;
  std::optional<Elf64_Phdr> dynamic;
  bool stack_header = false;
  for (std::uint16_t i = 0; i < eh.e_phnum; ++i) {
    auto ph = img.at<Elf64_Phdr>(eh.e_phoff + std::uint64_t{i} * sizeof(Elf64_Phdr));
    switch (ph.p_type) {
      case PT_LOAD:
        if ((ph.p_flags & PF_W) && (ph.p_flags & PF_X))
          throw Rejected{"a segment that is both writable and executable"};
        img.require(ph.p_offset, ph.p_filesz, "a segment");
        loads.push_back({ph.p_vaddr, ph.p_filesz, ph.p_offset});
        break;
      case PT_DYNAMIC:
        dynamic = ph;
        break;
      case PT_GNU_STACK:
        stack_header = true;
        if (ph.p_flags & PF_X) throw Rejected{"an executable stack"};
        break;
      case PT_INTERP:
        throw Rejected{"a program interpreter"};
      default:
        break;
    }
  }
  if (!stack_header) throw Rejected{"no PT_GNU_STACK header (executable stack by default)"};
  if (!dynamic) throw Rejected{"no dynamic section"};
  img.require(dynamic->p_offset, dynamic->p_filesz, "the dynamic section");

  std::map<std::int64_t, std::uint64_t> single;  // tags that occur once
  std::vector<std::uint64_t> needed;
  for (std::uint64_t off = dynamic->p_offset;; off += sizeof(Elf64_Dyn)) {
    if (off + sizeof(Elf64_Dyn) > dynamic->p_offset + dynamic->p_filesz)
      throw Rejected{"an unterminated dynamic section"};
    auto d = img.at<Elf64_Dyn>(off);
    if (d.d_tag == DT_NULL) break;
    switch (d.d_tag) {
      case DT_INIT:
      case DT_FINI:
      case DT_PREINIT_ARRAY:
        throw Rejected{"an initialiser or finaliser (DT_INIT, DT_FINI or DT_PREINIT_ARRAY)"};
      case DT_INIT_ARRAYSZ:
      case DT_FINI_ARRAYSZ:
      case DT_PREINIT_ARRAYSZ:
        if (d.d_un.d_val != 0) throw Rejected{"a constructor or destructor array"};
        break;
      case DT_RPATH:
      case DT_RUNPATH:
        throw Rejected{"a library search path (DT_RPATH/DT_RUNPATH)"};
      case DT_TEXTREL:
        throw Rejected{"text relocations"};
      case DT_FLAGS:
        if (d.d_un.d_val & DF_TEXTREL) throw Rejected{"text relocations"};
        break;
      case DT_AUDIT:
      case DT_DEPAUDIT:
      case DT_FILTER:
      case DT_AUXILIARY:
        throw Rejected{"an audit or filter library"};
      case DT_NEEDED:
        needed.push_back(d.d_un.d_val);
        break;
      default:
        single[d.d_tag] = d.d_un.d_val;
        break;
    }
  }
  auto tag = [&](std::int64_t t) -> std::optional<std::uint64_t> {
    auto it = single.find(t);
    if (it == single.end()) return std::nullopt;
    return it->second;
  };
  if (!needed.empty()) {
    auto strtab = tag(DT_STRTAB), strsz = tag(DT_STRSZ);
    if (!strtab || !strsz) throw Rejected{"DT_NEEDED without a string table"};
    std::uint64_t begin = file_offset(loads, *strtab, *strsz);
    static const std::set<std::string_view> kAllowed = {"libc.so.6", "libm.so.6"};
    for (std::uint64_t n : needed) {
      std::string_view lib = img.string(begin, *strsz, n);
      if (!kAllowed.count(lib))
        throw Rejected{"a dependency on a library other than libc and libm"};
    }
  }
  std::optional<std::uint64_t> symtab;
  if (auto s = tag(DT_SYMTAB)) {
    if (tag(DT_SYMENT).value_or(sizeof(Elf64_Sym)) != sizeof(Elf64_Sym))
      throw Rejected{"unexpected symbol entry size"};
    symtab = file_offset(loads, *s, sizeof(Elf64_Sym));
  }
  if (tag(DT_REL)) throw Rejected{"unexpected REL relocations"};
#ifdef DT_RELR
  if (tag(DT_RELR)) throw Rejected{"unexpected RELR relocations"};
#endif
  if (auto rela = tag(DT_RELA)) {
    std::uint64_t size = tag(DT_RELASZ).value_or(0);
    check_relocations(img, file_offset(loads, *rela, size), size,
                      tag(DT_RELAENT).value_or(sizeof(Elf64_Rela)), symtab);
  }
  if (auto jmprel = tag(DT_JMPREL)) {
    if (tag(DT_PLTREL).value_or(DT_RELA) != DT_RELA) throw Rejected{"unexpected PLT relocations"};
    std::uint64_t size = tag(DT_PLTRELSZ).value_or(0);
    check_relocations(img, file_offset(loads, *jmprel, size), size, sizeof(Elf64_Rela), symtab);
  }

  // --- the linker's view: section headers
  // ---------------------------------------------------------
  if (eh.e_shnum == 0) return;
  if (eh.e_shentsize != sizeof(Elf64_Shdr)) throw Rejected{"unexpected section header size"};
  std::vector<Elf64_Shdr> sections;
  for (std::uint16_t i = 0; i < eh.e_shnum; ++i)
    sections.push_back(img.at<Elf64_Shdr>(eh.e_shoff + std::uint64_t{i} * sizeof(Elf64_Shdr)));
  if (eh.e_shstrndx >= sections.size()) throw Rejected{"no section name table"};
  const Elf64_Shdr& names = sections[eh.e_shstrndx];
  static const std::set<std::string_view> kForbidden = {
      ".init", ".fini", ".init_array", ".fini_array", ".ctors", ".dtors", ".preinit_array"};
  for (const Elf64_Shdr& s : sections) {
    if (s.sh_type == SHT_INIT_ARRAY || s.sh_type == SHT_FINI_ARRAY ||
        s.sh_type == SHT_PREINIT_ARRAY) {
      if (s.sh_size) throw Rejected{"a constructor or destructor array"};
    }
    if (s.sh_type != SHT_NOBITS && s.sh_size &&
        kForbidden.count(img.string(names.sh_offset, names.sh_size, s.sh_name)))
      throw Rejected{"an initialiser or finaliser section"};
    if (s.sh_type == SHT_DYNSYM || s.sh_type == SHT_SYMTAB) {
      if (s.sh_entsize != sizeof(Elf64_Sym)) throw Rejected{"unexpected symbol entry size"};
      img.require(s.sh_offset, s.sh_size, "a symbol table");
      for (std::uint64_t i = 0; i < s.sh_size / sizeof(Elf64_Sym); ++i) {
        auto sym = img.at<Elf64_Sym>(s.sh_offset + i * sizeof(Elf64_Sym));
        if (ELF64_ST_TYPE(sym.st_info) == STT_GNU_IFUNC) throw Rejected{"an IFUNC symbol"};
      }
    }
    if (s.sh_type == SHT_RELA) check_relocations(img, s.sh_offset, s.sh_size, s.sh_entsize, {});
    if (s.sh_type == SHT_REL && s.sh_size) throw Rejected{"unexpected REL relocations"};
  }
}

}  // namespace

std::string check_compiled_module(std::string_view elf) {
  try {
    check(Image(elf));
    return {};
  } catch (const Rejected& r) {
    return "compiled module rejected: " + r.why;
  }
}

}  // namespace wasimoff::engine
