#include "protocol/any_payload.h"

#include <google/protobuf/descriptor.h>

namespace wasimoff::protocol {

namespace gp = google::protobuf;

void pack_any(const gp::Message& msg, gp::Any* any) {
  any->Clear();
  any->set_type_url(std::string(kTypeUrlPrefix) + msg.GetDescriptor()->full_name());
  if (!msg.SerializeToString(any->mutable_value())) any->clear_value();
}

gp::Any make_any(const gp::Message& msg) {
  gp::Any any;
  pack_any(msg, &any);
  return any;
}

std::string_view any_type_name(const gp::Any& any) {
  std::string_view url = any.type_url();
  auto slash = url.rfind('/');
  return slash == std::string_view::npos ? url : url.substr(slash + 1);
}

UnpackStatus unpack_any(const gp::Any& any, gp::Message* out) {
  if (any_type_name(any) != out->GetDescriptor()->full_name()) return UnpackStatus::kWrongType;
  if (!out->ParseFromString(any.value())) return UnpackStatus::kBadPayload;
  return UnpackStatus::kOk;
}

std::unique_ptr<gp::Message> unpack_any_dynamic(const gp::Any& any, bool* bad_payload) {
  if (bad_payload) *bad_payload = false;
  auto name = any_type_name(any);
  // Only our own package is served; this also keeps well-known types from being instantiated.
  if (name.substr(0, 12) != "wasimoff.v1.") return nullptr;
  const auto* desc = gp::DescriptorPool::generated_pool()->FindMessageTypeByName(std::string(name));
  if (!desc) return nullptr;
  const auto* proto = gp::MessageFactory::generated_factory()->GetPrototype(desc);
  if (!proto) return nullptr;
  std::unique_ptr<gp::Message> msg(proto->New());
  if (!msg->ParseFromString(any.value())) {
    if (bad_payload) *bad_payload = true;
    return nullptr;
  }
  return msg;
}

}  // namespace wasimoff::protocol
