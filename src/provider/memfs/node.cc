#include "provider/memfs/node.h"

namespace wasimoff::memfs {

Node::Node(NodeKind kind, std::shared_ptr<Usage> usage, std::int64_t now)
    : kind_(kind), usage_(std::move(usage)), ino_(usage_->next_ino++), times_{now, now, now} {}

Node::~Node() {
  // Children release their own charges when the entries map destroys them.
  usage_->release(charged_);
}

}  // namespace wasimoff::memfs
