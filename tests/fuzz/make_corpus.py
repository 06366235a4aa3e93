#!/usr/bin/env python3
"""Writes the seed corpora of the fuzzers into tests/fuzz/corpus/<target>/ (each file < 4 KiB)
and fuzz_envelope.dict (JSON keys and Any type URLs of proto/wasimoff/v1/messages.proto).

Run from anywhere: python3 tests/fuzz/make_corpus.py. The seeds are committed; rerun this only
to change them. Sources: the binary test vectors of docs/protocol.md §5 and their JSON forms
(§4.2), both from tests/data/wire_vectors.json; Chromium 156's SETTINGS and CONNECT request (docs/webtransport.md §2-3).
"""
import gzip
import io
import json
import os
import re
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    assert len(data) < 4096, name
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def varint(v):  # QUIC varint (RFC 9000 §16), shortest form
    if v < 1 << 6:
        return bytes([v])
    if v < 1 << 14:
        return (v | 0x4000).to_bytes(2, "big")
    if v < 1 << 30:
        return (v | 0x80000000).to_bytes(4, "big")
    return (v | 0xC000000000000000).to_bytes(8, "big")


def pb_varint(v):  # protobuf base-128 varint
    out = b""
    while v >= 0x80:
        out += bytes([(v & 0x7F) | 0x80])
        v >>= 7
    return out + bytes([v])


def frame(t, payload):
    return varint(t) + varint(len(payload)) + payload


def qpack_int(prefix_bits, first, v):  # RFC 7541 §5.1 integer with `first` flag bits
    limit = (1 << prefix_bits) - 1
    if v < limit:
        return bytes([first | v])
    out = bytes([first | limit])
    v -= limit
    while v >= 0x80:
        out += bytes([(v & 0x7F) | 0x80])
        v >>= 7
    return out + bytes([v])


def qpack_static(index):  # indexed field line, static table
    return qpack_int(6, 0xC0, index)


def qpack_name_ref(index, value):  # literal with static name reference
    return qpack_int(4, 0x50, index) + qpack_int(7, 0x00, len(value)) + value.encode()


def qpack_literal(name, value):  # literal with literal name
    return (qpack_int(3, 0x20, len(name)) + name.encode() + qpack_int(7, 0x00, len(value))
            + value.encode())


# --- fuzz_envelope: the wire vectors of tests/data/wire_vectors.json -----------------------------
with open(os.path.join(HERE, "..", "data", "wire_vectors.json")) as f:
    wire_vectors = json.load(f)["vectors"]
spec = sorted((v for v in wire_vectors if "spec" in v), key=lambda v: v["spec"])
assert [v["spec"] for v in spec] == list(range(1, 9)), "docs/protocol.md §5 has 8 vectors"
vectors = [bytes.fromhex(v["hex"]) for v in spec]
by_name = {v["name"]: v for v in wire_vectors}
for i, v in enumerate(vectors, 1):
    write("fuzz_envelope", f"vector{i}.bin", v)
write("fuzz_envelope", "listing.json", by_name["listing request"]["json"])
write("fuzz_envelope", "resources.json", by_name["provider resources"]["json"])
write("fuzz_envelope", "wasip1_response.json", by_name["wasip1 response"]["json"])
write("fuzz_envelope", "error.json", by_name["error response"]["json_lenient"][0])
write("fuzz_envelope", "coded_error.bin", bytes.fromhex(by_name["coded error response"]["hex"]))
write("fuzz_envelope", "coded_error.json", by_name["coded error response"]["json"])

# --- fuzz_h3 (byte 0: chunking seed) ---------------------------------------------------------
chromium_settings = b"".join(varint(k) + varint(v) for k, v in [
    (0x1, 65536), (0x6, 16384), (0x7, 100), (0x33, 1), (0xFFD277, 1), (0x2B603742, 1),
    (0x1F * 7 + 0x21, 0)])  # the last pair: a GREASE identifier
write("fuzz_h3", "chromium_settings", b"\x03" + frame(0x04, chromium_settings))
connect = (qpack_static(15)  # :method CONNECT
           + qpack_literal(":protocol", "webtransport")
           + qpack_static(23)  # :scheme https
           + qpack_name_ref(0, "localhost:4443")  # :authority
           + qpack_name_ref(1, "/transport?x=1")  # :path
           + qpack_literal("sec-webtransport-http3-draft02", "1")
           + qpack_name_ref(90, "https://localhost:4080"))  # origin
write("fuzz_h3", "chromium_connect", b"\x07" + frame(0x01, b"\x00\x00" + connect))
get = (qpack_static(17)  # :method GET
       + qpack_static(23) + qpack_name_ref(0, "localhost:4080") + qpack_name_ref(1, "/api/version")
       + qpack_static(29))  # accept: */*
post = (qpack_static(20)  # :method POST
        + qpack_static(23) + qpack_name_ref(0, "localhost:4080")
        + qpack_name_ref(1, "/api/storage/upload?name=a.wasm")
        + qpack_name_ref(4, "4")  # content-length
        + qpack_literal("te", "trailers"))
write("fuzz_h3", "get_request", b"\x00" + frame(0x01, b"\x00\x00" + get))
write("fuzz_h3", "post_with_data",
      b"\x10" + frame(0x01, b"\x00\x00" + post) + frame(0x00, b"\0asm") + frame(0x21, b"grease"))
status = qpack_static(25) + qpack_name_ref(44, "application/json")  # :status 200, content-type
write("fuzz_h3", "response", b"\x05" + frame(0x01, b"\x00\x00" + status) + frame(0x00, b"{}"))
write("fuzz_h3", "goaway", b"\x01" + frame(0x04, b"") + frame(0x07, varint(4)))

# --- fuzz_webtransport (byte 0: chunking seed) ----------------------------------------------
write("fuzz_webtransport", "close_capsule",
      b"\x02" + varint(0x2843) + varint(4 + 4) + (1000).to_bytes(4, "big") + b"done")
write("fuzz_webtransport", "drain_and_grease",
      b"\x00" + varint(0x949E3F9FE91DCD2) + varint(3) + b"abc" + varint(0x78AE) + varint(0))
env = vectors[2]
write("fuzz_webtransport", "framed_envelopes",
      b"\x04" + pb_varint(len(env)) + env + pb_varint(len(vectors[1])) + vectors[1]
      + pb_varint(200) + b"x" * 200)
write("fuzz_webtransport", "chromium_settings", b"\x00" + chromium_settings)

# --- fuzz_zip ---------------------------------------------------------------------------------
def zip_bytes(entries, compression=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 2, 3, 4, 6))
            info.compress_type = compression
            if name.endswith("/"):
                info.external_attr = (0o40755 << 16) | 0x10
            else:
                info.external_attr = 0o100644 << 16
            z.writestr(info, data)
    return buf.getvalue()


write("fuzz_zip", "rootfs.zip",
      zip_bytes([("etc/", b""), ("etc/config.txt", b"mode=fast\n"), ("./data/in.csv", b"1,2\n3,4\n")]))
write("fuzz_zip", "stored.zip", zip_bytes([("a.txt", b"hello")], zipfile.ZIP_STORED))
write("fuzz_zip", "dotdot.zip", zip_bytes([("../escape", b"x")]))
write("fuzz_zip", "empty.zip", b"PK\x05\x06" + b"\0" * 18)

# --- fuzz_shell_words -------------------------------------------------------------------------
write("fuzz_shell_words", "plain", "-n 10 --verbose input.txt")
write("fuzz_shell_words", "quotes", "say 'it''s' \"a \\\"b\\\" c\" back\\ slash # comment\nnext")
write("fuzz_shell_words", "empty_words", "'' \"\" x\t\ty")
write("fuzz_shell_words", "unterminated", "echo 'oops")


# --- fuzz_module_admission: WebAssembly modules with hostile names -------------------------------
def leb(v):
    out = b""
    while True:
        b, v = v & 0x7F, v >> 7
        out += bytes([b | (0x80 if v else 0)])
        if not v:
            return out


def wname(s):
    s = s.encode() if isinstance(s, str) else s
    return leb(len(s)) + s


def wsection(i, items):
    payload = leb(len(items)) + b"".join(items)
    return bytes([i]) + leb(len(payload)) + payload


def wasm(exports=(), imports=(), customs=(), extra_code=b"", module="wasi_snapshot_preview1"):
    types = [b"\x60\x04\x7f\x7f\x7f\x7f\x01\x7f", b"\x60\x00\x00"]
    imps = [wname(module) + wname("fd_write") + b"\x00\x00"]
    imps += [wname(m) + wname(n) + b"\x00\x00" for m, n in imports]
    nimp = len(imps)
    body = (b"\x41\x00\x41\x10\x36\x02\x00\x41\x04\x41\x06\x36\x02\x00"
            b"\x41\x01\x41\x00\x41\x01\x41\x08\x10\x00\x1a" + extra_code + b"\x0b")
    code = leb(len(body) + 1) + b"\x00" + body
    exps = [wname("memory") + b"\x02\x00", wname("_start") + b"\x00" + leb(nimp)]
    exps += [wname(n) + bytes([k]) + leb(i) for n, k, i in exports]
    out = b"\x00asm\x01\x00\x00\x00" + wsection(1, types) + wsection(2, imps)
    out += wsection(3, [b"\x01"]) + wsection(5, [b"\x00\x01"]) + wsection(7, exps)
    out += wsection(10, [code])
    data = b"\x00\x41\x10\x0b" + wname(b"hello\n")
    out += wsection(11, [data])
    for n, payload in customs:
        c = wname(n) + payload
        out += b"\x00" + leb(len(c)) + c
    return out


INJECT = "*/ __attribute__((constructor)) static void x(void) {} /*\n#include \"/etc/passwd\"\n"
write("fuzz_module_admission", "hello.wasm", wasm())
write("fuzz_module_admission", "hostile_export.wasm", wasm(exports=[(INJECT, 0, 1)]))
write("fuzz_module_admission", "hostile_memory.wasm", wasm(exports=[("m" + INJECT, 2, 0)]))
write("fuzz_module_admission", "hostile_custom.wasm", wasm(customs=[(INJECT, INJECT.encode())]))
write("fuzz_module_admission", "name_section.wasm",
      wasm(customs=[("name", b"\x01" + wname(leb(1) + leb(1) + wname(INJECT)))]))
write("fuzz_module_admission", "hostile_import.wasm",
      wasm(imports=[("wasi_snapshot_preview1", "fd_write\x00" + INJECT)]))
write("fuzz_module_admission", "nul_names.wasm", wasm(exports=[("a\x00b\\c\"", 0, 1)]))
# WASI preview 0 (wasi_unstable): alone, mixed with preview 1, and with a hostile module name.
write("fuzz_module_admission", "unstable_hello.wasm", wasm(module="wasi_unstable"))
write("fuzz_module_admission", "mixed_modules.wasm",
      wasm(module="wasi_unstable", imports=[("wasi_snapshot_preview1", "fd_write")]))
write("fuzz_module_admission", "hostile_unstable_import.wasm",
      wasm(module="wasi_unstable", imports=[("wasi_unstable\x00" + INJECT, "fd_write")]))


# --- fuzz_wasm_module: the admission seeds, plus memory shapes the summary reads ---------------
for name in ["hello", "mixed_modules", "hostile_import", "name_section"]:
    with open(os.path.join(HERE, "corpus", "fuzz_module_admission", name + ".wasm"), "rb") as f:
        write("fuzz_wasm_module", name + ".wasm", f.read())
imported_memory = (b"\x00asm\x01\x00\x00\x00" + wsection(1, [b"\x60\x00\x00"])
                   + wsection(2, [wname("env") + wname("memory") + b"\x02\x01\x02\x10",
                                  wname("wasi_unstable") + wname("proc_exit") + b"\x00\x00"]))
write("fuzz_wasm_module", "imported_memory.wasm", imported_memory)
write("fuzz_wasm_module", "memory64.wasm",
      b"\x00asm\x01\x00\x00\x00" + wsection(5, [b"\x04" + leb(1 << 40)]))
write("fuzz_wasm_module", "many_modules.wasm",
      b"\x00asm\x01\x00\x00\x00" + wsection(1, [b"\x60\x00\x00"])
      + wsection(2, [wname(f"m{i}") + wname("f") + b"\x00\x00" for i in range(20)]))


# --- fuzz_gzip_body (byte 0: body limit 16 << (byte % 12)) -------------------------------------
def gz(data):
    return gzip.compress(data, mtime=0)


listing_json = b'{"sequence":"1","type":"Request"}'
write("fuzz_gzip_body", "json", b"\x08" + gz(listing_json))
write("fuzz_gzip_body", "empty", b"\x00" + gz(b""))
write("fuzz_gzip_body", "over_limit", b"\x01" + gz(b"x" * 1000))
write("fuzz_gzip_body", "truncated", b"\x0b" + gz(listing_json)[:-6])
write("fuzz_gzip_body", "two_members", b"\x0b" + gz(b"ab") + gz(b"cd"))
write("fuzz_gzip_body", "trailing_garbage", b"\x0b" + gz(b"ab") + b"junk")
write("fuzz_gzip_body", "stored_block",
      b"\x0b" + gzip.compress(bytes(range(256)), compresslevel=0, mtime=0))

# --- fuzz_range (bytes 0-1: file size, little endian; 0xffff = 2^64-1) -------------------------
for name, size, header in [
        ("first_last", 1000, "bytes=0-99"), ("suffix", 1000, "bytes=-500"),
        ("open_end", 1000, "bytes=100-"), ("multiple", 1000, "bytes=1-2,3-4"),
        ("spaces_case", 1000, " BYTES= 5 - 10 "), ("other_unit", 1000, "items=0-1"),
        ("past_end", 10, "bytes=10-20"), ("empty_file_suffix", 0, "bytes=-1"),
        ("huge", 0xFFFF, "bytes=18446744073709551615-99999999999999999999999"),
        ("reversed", 1000, "bytes=9-3")]:
    write("fuzz_range", name, size.to_bytes(2, "little") + header.encode())


# --- fuzz_worker_frame (byte 0: frame limit 16 << (byte % 9)) ----------------------------------
def wframe(body):
    return len(body).to_bytes(4, "little") + body


hello = b"\x08" + pb_varint(4242) + b"\x10\x03"  # Hello{pid: 4242, abi: 3}
request = (b"\x0a\x03abc" + b"\x50\x01"  # RunRequest{module_key: "abc", module_attached}
           + b"\x28" + pb_varint(1 << 26) + b"\x40" + pb_varint(1_700_000_000_000_000_000))
reply = b"\x10" + pb_varint(123456789) + b"\x30\x01"  # RunReply{prepared, module_missing}
write("fuzz_worker_frame", "hello", b"\x08" + wframe(hello))
write("fuzz_worker_frame", "request_reply", b"\x08" + wframe(request) + wframe(reply) + wframe(b""))
write("fuzz_worker_frame", "cut_body", b"\x08" + wframe(hello)[:-1])
write("fuzz_worker_frame", "cut_header", b"\x08" + wframe(hello) + b"\x05\x00")
write("fuzz_worker_frame", "too_large", b"\x00" + wframe(b"y" * 17))


# --- fuzz_messenger (byte 0: calls, queue bound, capacity; then 2-byte-length records) ---------
def record(env):
    return len(env).to_bytes(2, "little") + env


def envelope(seq, kind, error=b"", payload=b""):
    out = b"\x08" + pb_varint(seq) + b"\x10" + bytes([kind])
    if error:
        out += b"\x1a" + pb_varint(len(error)) + error
    if payload:
        out += b"\x22" + pb_varint(len(payload)) + payload
    return out


def any_payload(type_name, value=b""):
    url = ("wasimoff/" + type_name).encode()
    out = b"\x0a" + pb_varint(len(url)) + url
    return out + (b"\x12" + pb_varint(len(value)) + value if value else b"")


ping = any_payload("wasimoff.v1.Ping")
write("fuzz_messenger", "answers", b"\x23"  # 3 calls, queue bound 1, capacity 8
      + record(envelope(1, 2, payload=ping)) + record(envelope(2, 2, error=b"busy"))
      + record(envelope(1, 2, payload=ping)) + record(envelope(9, 2)))
write("fuzz_messenger", "requests", b"\x3c"  # no calls, queue bound 8, capacity 8
      + record(envelope(5, 1, payload=ping))
      + record(envelope(6, 1, payload=any_payload("wasimoff.v1.Task.Cancel")))
      + record(envelope(7, 1, payload=any_payload("wasimoff.v1.Filesystem.Probe.Request")))
      + record(envelope(8, 1, payload=any_payload("wasimoff.v1.Filesystem.Listing.Request")))
      + record(envelope(9, 1)) + record(envelope(5, 1, payload=ping)))
write("fuzz_messenger", "events_overflow", b"\x01"  # 1 call, queue bound 1, capacity 1
      + b"".join(record(envelope(i, 1, payload=ping)) for i in range(1, 6))
      + b"".join(record(v) for v in vectors))


# --- fuzz_envelope.dict: JSON keys and Any type URLs --------------------------------------------
def proto_dictionary():
    with open(os.path.join(HERE, "..", "..", "proto", "wasimoff", "v1", "messages.proto")) as f:
        src = re.sub(r"//.*", "", f.read())
    fields = sorted(set(re.findall(r"(?:optional|repeated)\s+[\w.]+\s+(\w+)\s*=", src)))
    names, stack = [], []
    for m in re.finditer(r"\b(message|enum)\s+(\w+)\s*\{|\{|\}", src):
        if m.group(1):
            stack.append(m.group(2))
            if m.group(1) == "message":
                names.append("wasimoff.v1." + ".".join(n for n in stack if n))
        elif m.group(0) == "{":
            stack.append(None)
        else:
            stack.pop()
    lines = ["# Generated by make_corpus.py from proto/wasimoff/v1/messages.proto.",
             '"\\"@type\\":\\"wasimoff/"']
    lines += [f'"\\"{f}\\":"' for f in fields]
    lines += [f'"{n}"' for n in names]
    lines += ['"Request"', '"Response"', '"Event"', '"null"', '"true"', '"NaN"',
              '"1970-01-01T00:00:00Z"']
    with open(os.path.join(HERE, "fuzz_envelope.dict"), "w") as f:
        f.write("\n".join(lines) + "\n")


proto_dictionary()
