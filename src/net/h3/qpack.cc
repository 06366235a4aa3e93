#include "net/h3/qpack.h"

#include <nghttp3/nghttp3.h>

#include <memory>
#include <stdexcept>

namespace wasimoff::h3 {

QpackEncoder::QpackEncoder() {
  if (nghttp3_qpack_encoder_new(&encoder_, 0, nghttp3_mem_default()) != 0)
    throw std::runtime_error("QPACK encoder: out of memory");
  nghttp3_qpack_encoder_set_max_dtable_capacity(encoder_, 0);
  nghttp3_qpack_encoder_set_max_blocked_streams(encoder_, 0);
}

QpackEncoder::~QpackEncoder() {
  nghttp3_qpack_encoder_del(encoder_);
}

std::string QpackEncoder::encode(std::int64_t stream_id, const HeaderList& headers) {
  std::vector<nghttp3_nv> nva;
  nva.reserve(headers.size());
  for (const auto& h : headers) {
    nghttp3_nv nv{};
    nv.name = reinterpret_cast<std::uint8_t*>(const_cast<char*>(h.name.data()));
    nv.namelen = h.name.size();
    nv.value = reinterpret_cast<std::uint8_t*>(const_cast<char*>(h.value.data()));
    nv.valuelen = h.value.size();
    nv.flags = NGHTTP3_NV_FLAG_NONE;
    nva.push_back(nv);
  }
  nghttp3_buf pbuf, rbuf, ebuf;
  nghttp3_buf_init(&pbuf);
  nghttp3_buf_init(&rbuf);
  nghttp3_buf_init(&ebuf);
  const auto* mem = nghttp3_mem_default();
  const int rv = nghttp3_qpack_encoder_encode(encoder_, &pbuf, &rbuf, &ebuf, stream_id, nva.data(),
                                              nva.size());
  std::string out;
  if (rv == 0) {
    out.append(reinterpret_cast<const char*>(pbuf.pos), nghttp3_buf_len(&pbuf));
    out.append(reinterpret_cast<const char*>(rbuf.pos), nghttp3_buf_len(&rbuf));
  }
  // Without a dynamic table nothing is written to the encoder stream (ebuf stays empty).
  nghttp3_buf_free(&pbuf, mem);
  nghttp3_buf_free(&rbuf, mem);
  nghttp3_buf_free(&ebuf, mem);
  if (rv != 0)
    throw std::runtime_error("QPACK encoder failed: " + std::string(nghttp3_strerror(rv)));
  return out;
}

bool QpackEncoder::read_decoder_stream(std::span<const std::uint8_t> data) {
  if (data.empty()) return true;
  const auto n = nghttp3_qpack_encoder_read_decoder(encoder_, data.data(), data.size());
  return n >= 0 && static_cast<std::size_t>(n) == data.size();
}

QpackDecoder::QpackDecoder(std::size_t max_field_section_size)
    : max_section_(max_field_section_size) {
  if (nghttp3_qpack_decoder_new(&decoder_, 0, 0, nghttp3_mem_default()) != 0)
    throw std::runtime_error("QPACK decoder: out of memory");
}

QpackDecoder::~QpackDecoder() {
  nghttp3_qpack_decoder_del(decoder_);
}

bool QpackDecoder::read_encoder_stream(std::span<const std::uint8_t> data) {
  if (data.empty()) return true;
  const auto n = nghttp3_qpack_decoder_read_encoder(decoder_, data.data(), data.size());
  return n >= 0 && static_cast<std::size_t>(n) == data.size();
}

namespace {
struct StreamContextDeleter {
  void operator()(nghttp3_qpack_stream_context* s) const { nghttp3_qpack_stream_context_del(s); }
};
}  // namespace

std::optional<HeaderList> QpackDecoder::decode(std::int64_t stream_id, std::string_view block,
                                               std::string* error) {
  auto fail = [&](std::string msg) -> std::optional<HeaderList> {
    if (error) *error = std::move(msg);
    return std::nullopt;
  };
  nghttp3_qpack_stream_context* raw = nullptr;
  if (nghttp3_qpack_stream_context_new(&raw, stream_id, nghttp3_mem_default()) != 0)
    return fail("QPACK: out of memory");
  std::unique_ptr<nghttp3_qpack_stream_context, StreamContextDeleter> sctx(raw);

  HeaderList out;
  std::size_t section = 0;
  const auto* p = reinterpret_cast<const std::uint8_t*>(block.data());
  std::size_t left = block.size();
  for (;;) {
    nghttp3_qpack_nv nv;
    std::uint8_t flags = 0;
    const auto n =
        nghttp3_qpack_decoder_read_request(decoder_, sctx.get(), &nv, &flags, p, left, 1);
    if (n < 0) return fail(std::string("QPACK decompression failed: ") + nghttp3_strerror(int(n)));
    p += n;
    left -= static_cast<std::size_t>(n);
    if (flags & NGHTTP3_QPACK_DECODE_FLAG_BLOCKED)
      return fail("QPACK field section references the dynamic table, which is disabled");
    if (flags & NGHTTP3_QPACK_DECODE_FLAG_EMIT) {
      auto name = nghttp3_rcbuf_get_buf(nv.name);
      auto value = nghttp3_rcbuf_get_buf(nv.value);
      section += name.len + value.len + 32;
      if (section <= max_section_) {
        out.push_back({std::string(reinterpret_cast<const char*>(name.base), name.len),
                       std::string(reinterpret_cast<const char*>(value.base), value.len)});
      }
      nghttp3_rcbuf_decref(nv.name);
      nghttp3_rcbuf_decref(nv.value);
      if (section > max_section_) return fail("header section too large");
    }
    if (flags & NGHTTP3_QPACK_DECODE_FLAG_FINAL) break;
    if (n == 0 && left == 0) return fail("truncated QPACK field section");
  }
  if (left != 0) return fail("trailing bytes after QPACK field section");
  return out;
}

}  // namespace wasimoff::h3
