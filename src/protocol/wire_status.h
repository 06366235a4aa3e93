// Errors on the provider wire as Status values (docs/protocol.md §3.3).
//
// An Envelope Response that failed carries the text in `error` and, from our peers, its Connect
// code name in `code`. The reference implementation sends only the text; its texts with a known
// meaning are recognised here by their documented prefixes, and nowhere else: everything above
// this file branches on StatusCode.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace wasimoff::protocol {

// The Status of a received error. A known `code` other than "unknown" wins; otherwise the text
// decides: "not implemented…" → kUnimplemented, "timeout…" → kDeadlineExceeded,
// "output too large…" → kResourceExhausted, a module refusal (see below) → kFailedPrecondition,
// anything else → kUnknown.
Status status_from_wire(std::string_view code, std::string message);

// True for the texts with which providers refuse a task's module: "unsupported module: …" (ours),
// "CompileError: …" and "LinkError: …" (the reference page's WebAssembly exceptions). Also used
// for the application-level `error` of a task Response, where the reference puts them.
bool is_module_refusal(std::string_view error);

}  // namespace wasimoff::protocol
