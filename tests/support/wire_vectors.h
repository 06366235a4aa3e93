// The Envelope byte vectors of tests/data/wire_vectors.json (docs/protocol.md §5 and the browser
// provider's answers), read once at first use. Header-only (target wasimoff_wire_vectors, which
// sets WASIMOFF_WIRE_VECTORS to the file's path and links Boost.JSON).
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace wasimoff::testing {

struct WireVector {
  std::string name;
  int spec = 0;                           // number in docs/protocol.md §5, 0 for the others
  std::uint64_t sequence = 0;             // the Envelope's sequence number
  std::string type;                       // Envelope.MessageType name: Request, Response or Event
  std::string payload;                    // full message name of the payload ("" for none)
  std::string hex;                        // the binary encoding, lower-case hex
  std::string bytes;                      // the same bytes
  std::string json;                       // the canonical proto3 JSON form the C++ codec writes
  std::vector<std::string> json_lenient;  // other JSON forms that decode to the same bytes
};

namespace wire_vectors_detail {

inline std::string unhex(std::string_view hex) {
  auto digit = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    throw std::runtime_error("wire vectors: not a lower-case hex digit in " + std::string(hex));
  };
  if (hex.size() % 2) throw std::runtime_error("wire vectors: odd hex length: " + std::string(hex));
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2)
    out.push_back(static_cast<char>(digit(hex[i]) * 16 + digit(hex[i + 1])));
  return out;
}

inline std::vector<WireVector> load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("wire vectors: cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  const boost::json::value doc = boost::json::parse(text.str());
  std::vector<WireVector> out;
  for (const auto& item : doc.at("vectors").as_array()) {
    const auto& o = item.as_object();
    WireVector v;
    v.name = o.at("name").as_string();
    if (auto* s = o.if_contains("spec")) v.spec = static_cast<int>(s->to_number<std::int64_t>());
    v.sequence = o.at("sequence").to_number<std::uint64_t>();
    v.type = o.at("type").as_string();
    if (const auto& p = o.at("payload"); p.is_string()) v.payload = p.as_string();
    v.hex = o.at("hex").as_string();
    v.bytes = unhex(v.hex);
    v.json = o.at("json").as_string();
    if (auto* l = o.if_contains("json_lenient"))
      for (const auto& j : l->as_array()) v.json_lenient.emplace_back(j.as_string());
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace wire_vectors_detail

// Every vector of the file, in file order. Throws std::runtime_error (or Boost.JSON's errors) if
// the file is missing or malformed.
inline const std::vector<WireVector>& wire_vectors() {
  static const std::vector<WireVector> all = wire_vectors_detail::load(WASIMOFF_WIRE_VECTORS);
  return all;
}

// The vector called `name`; throws std::out_of_range if there is none.
inline const WireVector& wire_vector(std::string_view name) {
  for (const auto& v : wire_vectors())
    if (v.name == name) return v;
  throw std::out_of_range("wire vectors: no vector named " + std::string(name));
}

}  // namespace wasimoff::testing
