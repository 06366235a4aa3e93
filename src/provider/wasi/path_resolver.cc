#include "provider/wasi/path_resolver.h"

#include <vector>

namespace wasimoff::wasi {

Resolved PathResolver::resolve(const memfs::NodePtr& base, std::string_view path) const {
  Resolved r;
  auto fail = [&r](Errno e) {
    r.error = e;
    r.parent.reset();
    r.node.reset();
    return r;
  };
  if (!base || !base->is_directory()) return fail(err::kNotdir);
  if (path.empty()) return fail(err::kNoent);
  if (path.size() > kMaxPath) return fail(err::kNametoolong);
  if (path.find('\0') != std::string_view::npos) return fail(err::kInval);
  if (path.front() == '/') return fail(err::kNotcapable);
  r.trailing_slash = path.back() == '/';

  std::vector<std::string_view> parts;
  for (std::size_t start = 0; start < path.size();) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }

  // The directories walked so far; ".." pops, and popping the base is a capability violation.
  std::vector<memfs::NodePtr> stack{base};
  for (std::size_t i = 0; i < parts.size(); ++i) {
    std::string_view c = parts[i];
    bool last = i + 1 == parts.size();
    if (c.size() > memfs::Filesystem::kMaxName) return fail(err::kNametoolong);
    if (c == ".." && stack.size() == 1) return fail(err::kNotcapable);
    if (c == "." || c == "..") {
      if (c == "..") stack.pop_back();
      if (last) {
        r.node = stack.back();
        r.parent = stack.back();
        r.special = true;
      }
      continue;
    }
    const memfs::NodePtr& top = stack.back();
    memfs::NodePtr child = fs_.lookup(*top, c);
    if (last) {
      if (r.trailing_slash && child && !child->is_directory()) return fail(err::kNotdir);
      r.parent = top;
      r.name = std::string(c);
      r.node = std::move(child);
      return r;
    }
    if (!child) return fail(err::kNoent);
    if (!child->is_directory()) return fail(err::kNotdir);
    stack.push_back(std::move(child));
  }
  return r;
}

}  // namespace wasimoff::wasi
