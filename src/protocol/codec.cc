#include "protocol/codec.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver.h>
#include <google/protobuf/util/type_resolver_util.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "contract/contract.h"

namespace wasimoff::protocol {

namespace gp = google::protobuf;

namespace {

// libprotobuf's resolver only accepts type URLs with its own prefix. Ours accepts any prefix
// (or none) by resolving the text after the last '/' (docs/protocol.md §3.4).
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

  // A type this build does not know resolves as google.protobuf.Empty: with unknown fields
  // ignored, an Any of that type decodes as its type URL with an empty value, so the receiver
  // sees an unknown payload type instead of an undecodable Envelope (docs/protocol.md §3.5).
  gp::util::Status ResolveMessageType(const std::string& type_url, gp::Type* type) override {
    auto status = inner_->ResolveMessageType(canonical(type_url), type);
    if (status.ok()) return status;
    return inner_->ResolveMessageType(std::string(kResolverPrefix) + "/google.protobuf.Empty",
                                      type);
  }
  gp::util::Status ResolveEnumType(const std::string& type_url, gp::Enum* enum_type) override {
    return inner_->ResolveEnumType(canonical(type_url), enum_type);
  }

  static constexpr const char* kResolverPrefix = "type.googleapis.com";
  static std::string canonical(const std::string& url) {
    auto slash = url.rfind('/');
    return std::string(kResolverPrefix) + "/" +
           (slash == std::string::npos ? url : url.substr(slash + 1));
  }

 private:
  std::unique_ptr<gp::util::TypeResolver> inner_;
};

AnyPrefixResolver& resolver() {
  // Immutable after construction and safe for concurrent use (libprotobuf's pool resolver
  // only reads the generated pool).
  static AnyPrefixResolver instance;
  return instance;
}

// The shared resolver, except that one type URL resolves as google.protobuf.Empty: decoding
// with it keeps an Envelope whose payload of that type does not decode (the payload's fields are
// then ignored as unknown).
class EmptyingResolver final : public gp::util::TypeResolver {
 public:
  explicit EmptyingResolver(const std::string& type_url)
      : emptied_(AnyPrefixResolver::canonical(type_url)) {}
  gp::util::Status ResolveMessageType(const std::string& type_url, gp::Type* type) override {
    if (AnyPrefixResolver::canonical(type_url) == emptied_)
      return resolver().ResolveMessageType("google.protobuf.Empty", type);
    return resolver().ResolveMessageType(type_url, type);
  }
  gp::util::Status ResolveEnumType(const std::string& type_url, gp::Enum* enum_type) override {
    return resolver().ResolveEnumType(type_url, enum_type);
  }

 private:
  std::string emptied_;
};

// ---- strict shape check ----------------------------------------------------------------------

std::string kind_of(const gp::Value& v) {
  switch (v.kind_case()) {
    case gp::Value::kNullValue:
      return "null";
    case gp::Value::kNumberValue:
      return "a number";
    case gp::Value::kStringValue:
      return "a string";
    case gp::Value::kBoolValue:
      return "true/false";
    case gp::Value::kStructValue:
      return "an object";
    case gp::Value::kListValue:
      return "a list";
    default:
      return "nothing";
  }
}

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string shown(const std::string& path) {
  return path.empty() ? "(top level)" : path;
}

class ShapeChecker {
 public:
  explicit ShapeChecker(bool descend_into_any) : descend_into_any_(descend_into_any) {}

  // `v` as a message of type `d` at `path` ("" = top level).
  std::string message(const gp::Value& v, const gp::Descriptor* d, const std::string& path) {
    const std::string& name = d->full_name();
    if (name == "google.protobuf.Timestamp" || name == "google.protobuf.Duration" ||
        name == "google.protobuf.FieldMask")
      return expect(v, gp::Value::kStringValue, path, "a string");
    if (name == "google.protobuf.Value") return "";
    if (name == "google.protobuf.ListValue")
      return expect(v, gp::Value::kListValue, path, "a list");
    if (name == "google.protobuf.Struct")
      return expect(v, gp::Value::kStructValue, path, "an object");
    if (d->file()->name() == "google/protobuf/wrappers.proto") {
      if (v.has_struct_value() || v.has_list_value())
        return shown(path) + ": expected a single value, got " + kind_of(v);
      return "";
    }
    if (auto e = expect(v, gp::Value::kStructValue, path, "an object"); !e.empty()) return e;
    const auto& fields = v.struct_value().fields();
    if (name == "google.protobuf.Any") return any(fields, path);
    // Sorted keys keep the reported problem stable when there are several.
    std::vector<const std::string*> keys;
    for (const auto& [key, value] : fields) keys.push_back(&key);
    std::sort(keys.begin(), keys.end(), [](auto* a, auto* b) { return *a < *b; });
    for (const auto* key : keys) {
      const gp::FieldDescriptor* f = find_field(d, *key);
      if (!f) continue;  // unknown fields are ignored
      if (auto e = field(fields.at(*key), f, join(path, f->name())); !e.empty()) return e;
    }
    return "";
  }

  // The keys of an Any other than "@type", checked against the type it names.
  std::string any(const gp::Map<std::string, gp::Value>& fields, const std::string& path) {
    if (!descend_into_any_) return "";
    auto t = fields.find("@type");
    if (t == fields.end() || !t->second.has_string_value()) return "";
    const std::string& url = t->second.string_value();
    auto slash = url.rfind('/');
    const auto* d = gp::DescriptorPool::generated_pool()->FindMessageTypeByName(
        slash == std::string::npos ? url : url.substr(slash + 1));
    if (!d) return "";  // unknown type: its fields are not ours to judge
    if (d->file()->package() == "google.protobuf") {
      // Well-known types carry their JSON form in "value".
      auto v = fields.find("value");
      return v == fields.end() ? "" : message(v->second, d, join(path, "value"));
    }
    gp::Value rest;
    for (const auto& [key, value] : fields)
      if (key != "@type") (*rest.mutable_struct_value()->mutable_fields())[key] = value;
    if (!rest.has_struct_value()) rest.mutable_struct_value();
    return message(rest, d, path);
  }

  std::string field(const gp::Value& v, const gp::FieldDescriptor* f, const std::string& path) {
    if (v.has_null_value()) return "";  // absent
    if (f->is_map()) {
      if (auto e = expect(v, gp::Value::kStructValue, path, "an object"); !e.empty()) return e;
      const auto* value_field = f->message_type()->map_value();
      for (const auto& [key, item] : v.struct_value().fields())
        if (auto e = single(item, value_field, path + "[\"" + key + "\"]"); !e.empty()) return e;
      return "";
    }
    if (f->is_repeated()) {
      if (!v.has_list_value()) return shown(path) + ": expected a list, got " + kind_of(v);
      int i = 0;
      for (const auto& item : v.list_value().values()) {
        std::string at = path + "[" + std::to_string(i++) + "]";
        if (item.has_list_value()) return at + ": a list inside a list";
        if (item.has_null_value()) return at + ": null in a list";
        if (auto e = single(item, f, at); !e.empty()) return e;
      }
      return "";
    }
    return single(v, f, path);
  }

  // One value (a singular field or one element of a list).
  std::string single(const gp::Value& v, const gp::FieldDescriptor* f, const std::string& path) {
    if (v.has_null_value()) return "";
    switch (f->cpp_type()) {
      case gp::FieldDescriptor::CPPTYPE_MESSAGE:
        return message(v, f->message_type(), path);
      case gp::FieldDescriptor::CPPTYPE_STRING:
        return expect(v, gp::Value::kStringValue, path, "a string");
      case gp::FieldDescriptor::CPPTYPE_BOOL:
        return expect(v, gp::Value::kBoolValue, path, "true or false");
      case gp::FieldDescriptor::CPPTYPE_ENUM:
        if (v.has_string_value() || v.has_number_value()) return "";
        return shown(path) + ": expected an enum name or number, got " + kind_of(v);
      default:  // numbers: JSON numbers, or strings (64-bit integers, "NaN", "Infinity")
        if (v.has_string_value() || v.has_number_value()) return "";
        return shown(path) + ": expected a number, got " + kind_of(v);
    }
  }

 private:
  static std::string expect(const gp::Value& v, gp::Value::KindCase kind, const std::string& path,
                            const char* what) {
    if (v.kind_case() == kind) return "";
    return shown(path) + ": expected " + what + ", got " + kind_of(v);
  }
  static const gp::FieldDescriptor* find_field(const gp::Descriptor* d, const std::string& key) {
    if (const auto* f = d->FindFieldByName(key)) return f;
    for (int i = 0; i < d->field_count(); ++i)
      if (d->field(i)->json_name() == key) return d->field(i);
    return nullptr;
  }

  bool descend_into_any_;
};

// Parses any JSON text into a google.protobuf.Value ("" = fine).
std::string parse_value(std::string_view json, gp::Value* out) {
  auto status = gp::util::JsonStringToMessage(std::string(json), out);
  if (!status.ok()) return std::string(status.message());
  return "";
}

std::string to_binary(gp::util::TypeResolver& r, const gp::Descriptor* type, std::string_view json,
                      std::string* binary) {
  gp::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto status = gp::util::JsonToBinaryString(
      &r, std::string(contract::payload::kTypeUrlPrefix) + type->full_name(), std::string(json),
      binary, options);
  if (!status.ok()) return std::string(status.message());
  return "";
}

// Envelopes: problems inside the payload do not make the Envelope undecodable (see codec.h).
std::string decode_envelope_json(std::string_view json, const gp::Value& doc, v1::Envelope* out) {
  if (auto e = ShapeChecker(false).message(doc, out->GetDescriptor(), ""); !e.empty())
    return "invalid JSON: " + e;
  std::string payload_type, problem;
  const auto& fields = doc.struct_value().fields();
  if (auto p = fields.find("payload"); p != fields.end() && p->second.has_struct_value()) {
    const auto& pf = p->second.struct_value().fields();
    if (auto t = pf.find("@type"); t != pf.end() && t->second.has_string_value())
      payload_type = t->second.string_value();
    problem = ShapeChecker(true).message(p->second, gp::Any::descriptor(), "payload");
  }
  std::string binary;
  if (problem.empty()) {
    problem = to_binary(resolver(), out->GetDescriptor(), json, &binary);
    if (problem.empty()) {
      if (!out->ParseFromString(binary)) return "invalid JSON: cannot build wasimoff.v1.Envelope";
      return "";
    }
  }
  // Either the payload or the rest is at fault: decode once more with the payload's type made
  // empty. If that works, the Envelope is fine and only its payload is undecodable.
  binary.clear();
  if (payload_type.empty()) return "invalid JSON: " + problem;
  EmptyingResolver emptying(payload_type);
  if (!to_binary(emptying, out->GetDescriptor(), json, &binary).empty() ||
      !out->ParseFromString(binary))
    return "invalid JSON: " + problem;
  out->mutable_payload()->set_value(std::string(kUndecodablePayload));
  if ((out->type() == v1::Envelope::Request || out->type() == v1::Envelope::Event) &&
      out->error().empty())
    out->set_error(problem);
  return "";
}

}  // namespace

std::string check_json_shape(std::string_view json, const gp::Descriptor* type,
                             bool descend_into_any) {
  gp::Value doc;
  if (auto e = parse_value(json, &doc); !e.empty()) return "not JSON: " + e;
  return ShapeChecker(descend_into_any).message(doc, type, "");
}

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
      &resolver(),
      std::string(contract::payload::kTypeUrlPrefix) + msg.GetDescriptor()->full_name(), binary,
      &json, options);
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
  gp::Value doc;
  if (auto e = parse_value(json, &doc); !e.empty()) return "invalid JSON: " + e;
  if (auto* envelope = dynamic_cast<v1::Envelope*>(out))
    return decode_envelope_json(json, doc, envelope);
  if (auto e = ShapeChecker(true).message(doc, out->GetDescriptor(), ""); !e.empty())
    return "invalid JSON: " + e;
  std::string binary;
  if (auto e = to_binary(resolver(), out->GetDescriptor(), json, &binary); !e.empty())
    return "invalid JSON: " + e;
  if (!out->ParseFromString(binary))
    return "invalid JSON: cannot build " + out->GetDescriptor()->full_name();
  return {};
}

}  // namespace wasimoff::protocol
