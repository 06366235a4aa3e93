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
// The relocations a shared object of ours needs: base-relative fix-ups, GOT and PLT slots and
// absolute addresses. IRELATIVE (an IFUNC resolver call) and everything else are refused.
const std::set<std::uint32_t> kAllowedRelocations = {R_X86_64_RELATIVE, R_X86_64_GLOB_DAT,
                                                     R_X86_64_JUMP_SLOT, R_X86_64_64};
#elif defined(__aarch64__)
constexpr std::uint16_t kMachine = EM_AARCH64;
const std::set<std::uint32_t> kAllowedRelocations = {R_AARCH64_RELATIVE, R_AARCH64_GLOB_DAT,
                                                     R_AARCH64_JUMP_SLOT, R_AARCH64_ABS64};
#else
#error "elf_check: add this machine's ELF constants"
#endif

// Dynamic tags a module may carry (what ld writes for a -nostartfiles shared object with
// libc/libm dependencies, symbol versions and BIND_NOW). Every other tag is refused: DT_INIT*,
// DT_FINI*, DT_PREINIT_ARRAY, DT_SONAME (the loader matches loaded objects by it), DT_RPATH,
// DT_RUNPATH, DT_AUDIT, DT_FILTER, DT_TEXTREL, DT_REL, DT_RELR, DT_TLSDESC …
const std::set<std::int64_t> kAllowedTags = {
    DT_NEEDED, DT_PLTRELSZ, DT_PLTGOT,   DT_HASH,   DT_STRTAB,  DT_SYMTAB,     DT_RELA,
    DT_RELASZ, DT_RELAENT,  DT_STRSZ,    DT_SYMENT, DT_PLTREL,  DT_JMPREL,     DT_BIND_NOW,
    DT_FLAGS,  DT_FLAGS_1,  DT_GNU_HASH, DT_VERSYM, DT_VERNEED, DT_VERNEEDNUM, DT_RELACOUNT};
// Program headers a module may have.
const std::set<std::uint32_t> kAllowedSegments = {
    PT_LOAD, PT_DYNAMIC, PT_NOTE, PT_GNU_EH_FRAME, PT_GNU_STACK, PT_GNU_RELRO, PT_GNU_PROPERTY};

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
  std::uint64_t vaddr, memsz, filesz, offset;
  bool writable;
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

// True when [vaddr, vaddr + len) lies inside one writable PT_LOAD segment.
bool in_writable_segment(const std::vector<Segment>& loads, std::uint64_t vaddr,
                         std::uint64_t len) {
  for (const Segment& s : loads) {
    if (s.writable && vaddr >= s.vaddr && vaddr - s.vaddr <= s.memsz &&
        len <= s.memsz - (vaddr - s.vaddr))
      return true;
  }
  return false;
}

// Every relocation of a table: an allowed type, writing 8 bytes into a writable segment, and
// never against an IFUNC symbol.
void check_relocations(const Image& img, const std::vector<Segment>* loads, std::uint64_t offset,
                       std::uint64_t size, std::uint64_t entsize,
                       std::optional<std::uint64_t> symtab) {
  if (size == 0) return;
  img.require(offset, size, "a relocation table");
  if (entsize != sizeof(Elf64_Rela)) throw Rejected{"unexpected relocation entry size"};
  if (size % entsize) throw Rejected{"a relocation table of odd size"};
  for (std::uint64_t i = 0; i < size / entsize; ++i) {
    auto rela = img.at<Elf64_Rela>(offset + i * entsize);
    std::uint32_t type = ELF64_R_TYPE(rela.r_info);
    std::uint32_t sym = ELF64_R_SYM(rela.r_info);
    if (!kAllowedRelocations.count(type))
      throw Rejected{"a relocation of a type modules never need (e.g. IRELATIVE)"};
    if (loads && !in_writable_segment(*loads, rela.r_offset, 8))
      throw Rejected{"a relocation outside the writable segments"};
    if (sym != 0 && symtab) {
      auto s = img.at<Elf64_Sym>(*symtab + std::uint64_t{sym} * sizeof(Elf64_Sym));
      if (ELF64_ST_TYPE(s.st_info) == STT_GNU_IFUNC)
        throw Rejected{"a relocation against an IFUNC symbol"};
    }
  }
}

// The ELF header: an ELF64 little-endian shared object for our machine, with section headers.
Elf64_Ehdr check_header(const Image& img) {
  auto eh = img.at<Elf64_Ehdr>(0);
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) throw Rejected{"not an ELF file"};
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
    throw Rejected{"not a little-endian ELF64 file"};
  if (eh.e_type != ET_DYN) throw Rejected{"not a shared object"};
  if (eh.e_machine != kMachine) throw Rejected{"built for another machine"};
  if (eh.e_phentsize != sizeof(Elf64_Phdr)) throw Rejected{"unexpected program header size"};
  // The linker always writes section headers; without them half of the checks below would be
  // skipped.
  if (eh.e_shnum == 0 || eh.e_shentsize != sizeof(Elf64_Shdr)) throw Rejected{"no section headers"};

  return eh;
}

// The loader's view: the PT_LOAD segments and PT_DYNAMIC.
struct LoaderView {
  std::vector<Segment> loads;
  Elf64_Phdr dynamic;
};

LoaderView check_segments(const Image& img, const Elf64_Ehdr& eh) {
  std::vector<Segment> loads;
  std::optional<Elf64_Phdr> dynamic;
  bool stack_header = false;
  for (std::uint16_t i = 0; i < eh.e_phnum; ++i) {
    auto ph = img.at<Elf64_Phdr>(eh.e_phoff + std::uint64_t{i} * sizeof(Elf64_Phdr));
    if (!kAllowedSegments.count(ph.p_type))
      throw Rejected{"a kind of segment modules never need (e.g. PT_INTERP or PT_TLS)"};
    switch (ph.p_type) {
      case PT_LOAD:
        if ((ph.p_flags & PF_W) && (ph.p_flags & PF_X))
          throw Rejected{"a segment that is both writable and executable"};
        img.require(ph.p_offset, ph.p_filesz, "a segment");
        if (ph.p_filesz > ph.p_memsz) throw Rejected{"a segment larger in the file than in memory"};
        if (ph.p_memsz > (std::uint64_t{1} << 40) || ph.p_vaddr > (std::uint64_t{1} << 46))
          throw Rejected{"a segment of absurd size or address"};
        // The loader requires ascending, non-overlapping segments; so do we, so that we read
        // the same bytes it maps.
        if (!loads.empty() && ph.p_vaddr < loads.back().vaddr + loads.back().memsz)
          throw Rejected{"overlapping or unordered segments"};
        loads.push_back(
            {ph.p_vaddr, ph.p_memsz, ph.p_filesz, ph.p_offset, (ph.p_flags & PF_W) != 0});
        break;
      case PT_DYNAMIC:
        if (dynamic) throw Rejected{"two dynamic sections"};
        dynamic = ph;
        break;
      case PT_GNU_STACK:
        stack_header = true;
        if (ph.p_flags & PF_X) throw Rejected{"an executable stack"};
        break;
      default:
        break;
    }
  }
  if (!stack_header) throw Rejected{"no PT_GNU_STACK header (executable stack by default)"};
  if (!dynamic) throw Rejected{"no dynamic section"};
  // The loader finds the dynamic section by address; it must be the bytes we read.
  if (file_offset(loads, dynamic->p_vaddr, dynamic->p_filesz) != dynamic->p_offset)
    throw Rejected{"a dynamic section whose file offset and address disagree"};
  img.require(dynamic->p_offset, dynamic->p_filesz, "the dynamic section");

  return {std::move(loads), *dynamic};
}

// The entries of the dynamic section (DT_NEEDED apart, each at most once).
struct DynamicEntries {
  std::map<std::int64_t, std::uint64_t> tags;
  std::vector<std::uint64_t> needed;
  std::optional<std::uint64_t> tag(std::int64_t t) const {
    auto it = tags.find(t);
    if (it == tags.end()) return std::nullopt;
    return it->second;
  }
};

DynamicEntries read_dynamic(const Image& img, const Elf64_Phdr& dynamic) {
  DynamicEntries e;
  auto& tags = e.tags;
  auto& needed = e.needed;
  for (std::uint64_t off = dynamic.p_offset;; off += sizeof(Elf64_Dyn)) {
    if (off - dynamic.p_offset + sizeof(Elf64_Dyn) > dynamic.p_filesz)
      throw Rejected{"an unterminated dynamic section"};
    auto d = img.at<Elf64_Dyn>(off);
    if (d.d_tag == DT_NULL) break;
    if (!kAllowedTags.count(d.d_tag))
      throw Rejected{
          "a dynamic entry modules never need (an initialiser or finaliser, a "
          "library name or search path, an audit library, text relocations …)"};
    if (d.d_tag == DT_NEEDED) {
      needed.push_back(d.d_un.d_val);
      continue;
    }
    if (tags.count(d.d_tag)) throw Rejected{"a repeated dynamic entry"};
    tags[d.d_tag] = d.d_un.d_val;
  }
  return e;
}

// Flags, libraries and relocations of the dynamic section.
void check_dynamic(const Image& img, const std::vector<Segment>& loads, const DynamicEntries& e) {
  auto tag = [&e](std::int64_t t) { return e.tag(t); };
  const auto& needed = e.needed;
  if (tag(DT_FLAGS).value_or(0) & ~std::uint64_t{DF_BIND_NOW})
    throw Rejected{"dynamic flags modules never need (e.g. text relocations)"};
  if (tag(DT_FLAGS_1).value_or(0) & ~std::uint64_t{DF_1_NOW})
    throw Rejected{"dynamic flags modules never need (e.g. NODELETE, INITFIRST)"};
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
  if (auto rela = tag(DT_RELA)) {
    std::uint64_t size = tag(DT_RELASZ).value_or(0);
    check_relocations(img, &loads, file_offset(loads, *rela, size), size,
                      tag(DT_RELAENT).value_or(sizeof(Elf64_Rela)), symtab);
  }
  if (auto jmprel = tag(DT_JMPREL)) {
    if (tag(DT_PLTREL).value_or(DT_RELA) != DT_RELA) throw Rejected{"unexpected PLT relocations"};
    std::uint64_t size = tag(DT_PLTRELSZ).value_or(0);
    check_relocations(img, &loads, file_offset(loads, *jmprel, size), size, sizeof(Elf64_Rela),
                      symtab);
  }
}

// The linker's view: section headers.
void check_sections(const Image& img, const Elf64_Ehdr& eh) {
  std::vector<Elf64_Shdr> sections;
  for (std::uint16_t i = 0; i < eh.e_shnum; ++i)
    sections.push_back(img.at<Elf64_Shdr>(eh.e_shoff + std::uint64_t{i} * sizeof(Elf64_Shdr)));
  if (eh.e_shstrndx >= sections.size()) throw Rejected{"no section name table"};
  const Elf64_Shdr& names = sections[eh.e_shstrndx];
  static const std::set<std::string_view> kForbidden = {".init",          ".fini",  ".init_array",
                                                        ".fini_array",    ".ctors", ".dtors",
                                                        ".preinit_array", ".tdata", ".tbss"};
  for (const Elf64_Shdr& s : sections) {
    if (s.sh_type == SHT_INIT_ARRAY || s.sh_type == SHT_FINI_ARRAY ||
        s.sh_type == SHT_PREINIT_ARRAY) {
      if (s.sh_size) throw Rejected{"a constructor or destructor array"};
    }
    if (s.sh_size && kForbidden.count(img.string(names.sh_offset, names.sh_size, s.sh_name)))
      throw Rejected{"an initialiser, finaliser or thread-local section"};
    if (s.sh_type == SHT_DYNSYM || s.sh_type == SHT_SYMTAB) {
      if (s.sh_entsize != sizeof(Elf64_Sym)) throw Rejected{"unexpected symbol entry size"};
      img.require(s.sh_offset, s.sh_size, "a symbol table");
      for (std::uint64_t i = 0; i < s.sh_size / sizeof(Elf64_Sym); ++i) {
        auto sym = img.at<Elf64_Sym>(s.sh_offset + i * sizeof(Elf64_Sym));
        if (ELF64_ST_TYPE(sym.st_info) == STT_GNU_IFUNC) throw Rejected{"an IFUNC symbol"};
        if (ELF64_ST_TYPE(sym.st_info) == STT_TLS) throw Rejected{"a thread-local symbol"};
      }
    }
    if (s.sh_type == SHT_RELA)
      check_relocations(img, nullptr, s.sh_offset, s.sh_size, s.sh_entsize, {});
    if ((s.sh_type == SHT_REL || s.sh_type == SHT_RELR) && s.sh_size)
      throw Rejected{"unexpected REL or RELR relocations"};
  }
}

void check(const Image& img) {
  Elf64_Ehdr eh = check_header(img);
  LoaderView view = check_segments(img, eh);
  check_dynamic(img, view.loads, read_dynamic(img, view.dynamic));
  check_sections(img, eh);
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
