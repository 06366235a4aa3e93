#include "provider/memfs/filesystem.h"

#include <time.h>

#include <cstring>
#include <vector>

namespace wasimoff::memfs {

std::string_view to_string(Errc e) {
  switch (e) {
    case Errc::kOk:
      return "ok";
    case Errc::kNotFound:
      return "no such file or directory";
    case Errc::kExists:
      return "file exists";
    case Errc::kNotDirectory:
      return "not a directory";
    case Errc::kIsDirectory:
      return "is a directory";
    case Errc::kNotEmpty:
      return "directory not empty";
    case Errc::kNoSpace:
      return "no space left (filesystem limit)";
    case Errc::kInvalid:
      return "invalid argument";
    case Errc::kNameTooLong:
      return "name too long";
  }
  return "unknown error";
}

std::int64_t Filesystem::now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

Filesystem::Filesystem(std::uint64_t capacity) : usage_(std::make_shared<Usage>()) {
  usage_->capacity = capacity;
  root_ = std::make_shared<Node>(NodeKind::kDirectory, usage_, now());
  // The root's own cost is not charged: an empty filesystem has zero usage.
  root_->parent_ = root_.get();
  root_->nlink_ = 2;
}

Filesystem::~Filesystem() {
  std::vector<NodePtr> stack;
  stack.push_back(std::move(root_));
  while (!stack.empty()) {
    NodePtr n = std::move(stack.back());
    stack.pop_back();
    for (auto& [name, child] : n->entries_) {
      if (child->is_directory()) child->parent_ = nullptr;
      stack.push_back(std::move(child));
    }
    n->entries_.clear();
  }
}

Errc Filesystem::check_name(std::string_view name) {
  if (name.empty() || name == "." || name == "..") return Errc::kInvalid;
  if (name.size() > kMaxName) return Errc::kNameTooLong;
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos)
    return Errc::kInvalid;
  return Errc::kOk;
}

NodePtr Filesystem::lookup(const Node& dir, std::string_view name) const {
  if (!dir.is_directory()) return nullptr;
  auto it = dir.entries_.find(name);
  return it == dir.entries_.end() ? nullptr : it->second;
}

void Filesystem::touch_dir(Node& dir) {
  std::int64_t t = now();
  dir.times_.mtim = t;
  dir.times_.ctim = t;
}

Errc Filesystem::insert(Node& dir, std::string_view name, NodeKind kind, NodePtr* out) {
  if (!dir.is_directory()) return Errc::kNotDirectory;
  if (dir.nlink_ == 0) return Errc::kNotFound;  // removed directory
  if (Errc e = check_name(name); e != Errc::kOk) return e;
  if (dir.entries_.count(name)) return Errc::kExists;
  std::uint64_t cost = Node::kNodeCost + Node::kEntryCost + name.size();
  if (!usage_->try_charge(cost)) return Errc::kNoSpace;
  auto node = std::make_shared<Node>(kind, usage_, now());
  node->charged_ = Node::kNodeCost;
  dir.charged_ += Node::kEntryCost + name.size();
  if (kind == NodeKind::kDirectory) {
    node->parent_ = &dir;
    node->nlink_ = 2;
    ++dir.nlink_;
  } else {
    node->nlink_ = 1;
  }
  dir.entries_.emplace(std::string(name), node);
  touch_dir(dir);
  if (out) *out = std::move(node);
  return Errc::kOk;
}

Errc Filesystem::create_file(Node& dir, std::string_view name, NodePtr* out) {
  return insert(dir, name, NodeKind::kFile, out);
}

Errc Filesystem::create_directory(Node& dir, std::string_view name, NodePtr* out) {
  return insert(dir, name, NodeKind::kDirectory, out);
}

Errc Filesystem::unlink_file(Node& dir, std::string_view name) {
  if (!dir.is_directory()) return Errc::kNotDirectory;
  auto it = dir.entries_.find(name);
  if (it == dir.entries_.end()) return Errc::kNotFound;
  if (it->second->is_directory()) return Errc::kIsDirectory;
  it->second->nlink_ = 0;
  it->second->times_.ctim = now();
  dir.charged_ -= Node::kEntryCost + it->first.size();
  usage_->release(Node::kEntryCost + it->first.size());
  dir.entries_.erase(it);
  touch_dir(dir);
  return Errc::kOk;
}

Errc Filesystem::remove_directory(Node& dir, std::string_view name) {
  if (!dir.is_directory()) return Errc::kNotDirectory;
  auto it = dir.entries_.find(name);
  if (it == dir.entries_.end()) return Errc::kNotFound;
  Node& victim = *it->second;
  if (!victim.is_directory()) return Errc::kNotDirectory;
  if (!victim.entries_.empty()) return Errc::kNotEmpty;
  victim.nlink_ = 0;
  victim.parent_ = nullptr;
  --dir.nlink_;
  dir.charged_ -= Node::kEntryCost + it->first.size();
  usage_->release(Node::kEntryCost + it->first.size());
  dir.entries_.erase(it);
  touch_dir(dir);
  return Errc::kOk;
}

Errc Filesystem::rename(Node& from_dir, std::string_view from, Node& to_dir, std::string_view to) {
  if (!from_dir.is_directory() || !to_dir.is_directory()) return Errc::kNotDirectory;
  if (Errc e = check_name(from); e != Errc::kOk) return e;
  if (Errc e = check_name(to); e != Errc::kOk) return e;
  auto src_it = from_dir.entries_.find(from);
  if (src_it == from_dir.entries_.end()) return Errc::kNotFound;
  if (to_dir.nlink_ == 0) return Errc::kNotFound;
  NodePtr src = src_it->second;
  auto dst_it = to_dir.entries_.find(to);
  NodePtr dst = dst_it == to_dir.entries_.end() ? nullptr : dst_it->second;
  if (dst == src) return Errc::kOk;  // same entry (or another name of the same node)
  if (src->is_directory()) {
    // The target directory must not be the source or inside it.
    for (Node* p = &to_dir;; p = p->parent_) {
      if (p == src.get()) return Errc::kInvalid;
      if (p == nullptr || p->parent_ == p) break;
    }
    if (dst && !dst->is_directory()) return Errc::kNotDirectory;
    if (dst && !dst->entries_.empty()) return Errc::kNotEmpty;
  } else if (dst && dst->is_directory()) {
    return Errc::kIsDirectory;
  }
  // Charge the new entry name before changing anything.
  std::uint64_t new_cost = dst ? 0 : Node::kEntryCost + to.size();
  if (!usage_->try_charge(new_cost)) return Errc::kNoSpace;
  to_dir.charged_ += new_cost;
  if (dst) {
    dst->nlink_ = 0;
    if (dst->is_directory()) {
      dst->parent_ = nullptr;
      --to_dir.nlink_;
    }
    dst_it->second = src;
  } else {
    to_dir.entries_.emplace(std::string(to), src);
  }
  // Drop the old entry (lookup again: the emplace may have been into the same map).
  from_dir.entries_.erase(from_dir.entries_.find(from));
  from_dir.charged_ -= Node::kEntryCost + from.size();
  usage_->release(Node::kEntryCost + from.size());
  if (src->is_directory()) {
    --from_dir.nlink_;
    ++to_dir.nlink_;
    src->parent_ = &to_dir;
  }
  src->times_.ctim = now();
  touch_dir(from_dir);
  touch_dir(to_dir);
  return Errc::kOk;
}

std::size_t Filesystem::read(const Node& file, std::uint64_t offset, char* out,
                             std::size_t n) const {
  if (!file.is_file() || offset >= file.data_.size()) return 0;
  std::size_t count = std::min<std::uint64_t>(n, file.data_.size() - offset);
  std::memcpy(out, file.data_.data() + offset, count);
  return count;
}

Errc Filesystem::resize(Node& file, std::uint64_t size) {
  if (!file.is_file()) return Errc::kIsDirectory;
  std::uint64_t old = file.data_.size();
  if (size > old) {
    if (!usage_->try_charge(size - old)) return Errc::kNoSpace;
    file.charged_ += size - old;
  } else {
    usage_->release(old - size);
    file.charged_ -= old - size;
  }
  file.data_.resize(size);
  if (size < old / 2) file.data_.shrink_to_fit();
  std::int64_t t = now();
  file.times_.mtim = t;
  file.times_.ctim = t;
  return Errc::kOk;
}

Errc Filesystem::write(Node& file, std::uint64_t offset, std::string_view bytes) {
  if (!file.is_file()) return Errc::kIsDirectory;
  if (bytes.empty()) return Errc::kOk;
  if (offset > usage_->capacity || bytes.size() > usage_->capacity - offset) return Errc::kNoSpace;
  std::uint64_t end = offset + bytes.size();
  if (end > file.data_.size()) {
    if (Errc e = resize(file, end); e != Errc::kOk) return e;
  }
  std::memcpy(file.data_.data() + offset, bytes.data(), bytes.size());
  std::int64_t t = now();
  file.times_.mtim = t;
  file.times_.ctim = t;
  return Errc::kOk;
}

Errc Filesystem::walk_create_parents(std::string_view path, Node** dir, std::string_view* last,
                                     std::int64_t mtime_ns) {
  Node* cur = root_.get();
  std::size_t start = 0;
  for (;;) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) break;
    std::string_view seg = path.substr(start, slash - start);
    start = slash + 1;
    if (seg.empty() || seg == ".") continue;
    NodePtr next = lookup(*cur, seg);
    if (!next) {
      if (Errc e = create_directory(*cur, seg, &next); e != Errc::kOk) return e;
      next->times_ = {mtime_ns, mtime_ns, mtime_ns};
    }
    if (!next->is_directory()) return Errc::kNotDirectory;
    cur = next.get();
  }
  *dir = cur;
  *last = path.substr(start);
  return Errc::kOk;
}

Errc Filesystem::add_file(std::string_view relative_path, std::string data, std::int64_t mtime_ns) {
  Node* dir = nullptr;
  std::string_view name;
  if (Errc e = walk_create_parents(relative_path, &dir, &name, mtime_ns); e != Errc::kOk) return e;
  NodePtr node = lookup(*dir, name);
  if (node && node->is_directory()) return Errc::kIsDirectory;
  if (!node) {
    if (Errc e = create_file(*dir, name, &node); e != Errc::kOk) return e;
  }
  std::uint64_t old = node->data_.size();
  if (data.size() > old) {
    if (!usage_->try_charge(data.size() - old)) return Errc::kNoSpace;
    node->charged_ += data.size() - old;
  } else {
    usage_->release(old - data.size());
    node->charged_ -= old - data.size();
  }
  node->data_ = std::move(data);
  node->times_ = {mtime_ns, mtime_ns, mtime_ns};
  return Errc::kOk;
}

Errc Filesystem::add_directory(std::string_view relative_path, std::int64_t mtime_ns) {
  Node* dir = nullptr;
  std::string_view name;
  if (Errc e = walk_create_parents(relative_path, &dir, &name, mtime_ns); e != Errc::kOk) return e;
  if (name.empty() || name == ".") return Errc::kOk;
  NodePtr node = lookup(*dir, name);
  if (node) return node->is_directory() ? Errc::kOk : Errc::kNotDirectory;
  if (Errc e = create_directory(*dir, name, &node); e != Errc::kOk) return e;
  node->times_ = {mtime_ns, mtime_ns, mtime_ns};
  return Errc::kOk;
}

}  // namespace wasimoff::memfs
