#include "protocol/codec.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver.h>
#include <google/protobuf/util/type_resolver_util.h>

#include <memory>

namespace wasimoff::protocol {

namespace gp = google::protobuf;

namespace {

// libprotobuf's resolver only accepts type URLs with its own prefix. Ours accepts any prefix
// (or none) by resolving the text after the last '/' (protocol.md §3.4).
//
// The inner resolver must use the "type.googleapis.com" prefix: libprotobuf's JSON converter
// finds its special renderers for well-known types (Timestamp as an RFC 3339 string, ...) by
// the field's type URL with exactly that prefix. With any other prefix a Timestamp such as
// `qos.deadline` prints as {"seconds":…} and RFC 3339 input is rejected. The prefix of Any
// values is not affected: "@type" is printed and stored as it appears in the message.
class AnyPrefixResolver final : public gp::util::TypeResolver {
 public:
  AnyPrefixResolver()
      : inner_(gp::util::NewTypeResolverForDescriptorPool(kResolverPrefix,
                                                          gp::DescriptorPool::generated_pool())) {}

  gp::util::Status ResolveMessageType(const std::string& type_url, gp::Type* type) override {
    return inner_->ResolveMessageType(canonical(type_url), type);
  }
  gp::util::Status ResolveEnumType(const std::string& type_url, gp::Enum* enum_type) override {
    return inner_->ResolveEnumType(canonical(type_url), enum_type);
  }

 private:
  static constexpr const char* kResolverPrefix = "type.googleapis.com";
  static std::string canonical(const std::string& url) {
    auto slash = url.rfind('/');
    return std::string(kResolverPrefix) + "/" +
           (slash == std::string::npos ? url : url.substr(slash + 1));
  }
  std::unique_ptr<gp::util::TypeResolver> inner_;
};

gp::util::TypeResolver& resolver() {
  // Immutable after construction and safe for concurrent use (libprotobuf's pool resolver
  // only reads the generated pool).
  static AnyPrefixResolver instance;
  return instance;
}

}  // namespace

std::string encode(const gp::Message& msg, Codec codec) {
  if (codec == Codec::kJson) return encode_json(msg);
  std::string out;
  msg.SerializeToString(&out);
  return out;
}

std::string encode_json(const gp::Message& msg) {
  gp::util::JsonPrintOptions options;
  options.add_whitespace = false;
  options.always_print_primitive_fields = false;
  options.preserve_proto_field_names = true;
  std::string json, binary;
  // Go through the binary form with our resolver so Any payloads with the wasimoff/ prefix
  // print regardless of which pool the resolver of MessageToJsonString would use.
  msg.SerializeToString(&binary);
  auto status = gp::util::BinaryToJsonString(
      &resolver(), "wasimoff/" + msg.GetDescriptor()->full_name(), binary, &json, options);
  if (!status.ok()) {
    // Fall back to the direct printer; it handles every message of the generated pool.
    json.clear();
    (void)gp::util::MessageToJsonString(msg, &json, options);
  }
  return json;
}

std::string decode(std::string_view data, Codec codec, gp::Message* out) {
  if (codec == Codec::kJson) return decode_json(data, out);
  out->Clear();
  if (!out->ParseFromArray(data.data(), static_cast<int>(data.size())))
    return "invalid protobuf encoding of " + out->GetDescriptor()->full_name();
  return {};
}

std::string decode_json(std::string_view json, gp::Message* out) {
  out->Clear();
  gp::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  std::string binary;
  auto status =
      gp::util::JsonToBinaryString(&resolver(), "wasimoff/" + out->GetDescriptor()->full_name(),
                                   std::string(json), &binary, options);
  if (!status.ok()) return "invalid JSON: " + std::string(status.message());
  if (!out->ParseFromString(binary))
    return "invalid JSON: cannot build " + out->GetDescriptor()->full_name();
  return {};
}

}  // namespace wasimoff::protocol
