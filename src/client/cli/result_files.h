// Writing task results to disk: a result directory per task (`--out`) and the unpacking of an
// artifacts ZIP. Blocking file I/O: call these through offload() from the event loop.
//
// Layout of a result directory:
//   stdout, stderr   the captured bytes (empty files when there was no output)
//   result.json      the Response without the output bytes: info (id, provider, trace) and
//                    either {"ok":{"status":N}} or {"error":"…"}
//   artifacts/       the unpacked artifacts ZIP (only when the task returned artifacts)
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "wasimoff/v1/messages.pb.h"

namespace wasimoff::cli {

// Writes `response` into `dir` (created with its parents if missing). Throws
// client::ClientError(kLocal) when something cannot be written or the artifacts are not a
// valid archive.
void write_result_dir(const std::string& dir, const v1::Task::Wasip1::Response& response);

// Unpacks the ZIP `zip` into `dir` (created if missing) and returns the number of files written.
// Never writes outside `dir`: entry names are checked (no absolute paths, no "..", no symlink
// entries; common/zip_archive.h), and an existing symlink or non-directory on the way to an entry
// is refused instead of followed. Existing files are overwritten. Throws
// client::ClientError(kLocal) naming the entry on failure.
std::size_t extract_artifacts(std::string_view zip, const std::string& dir);

// The Response as JSON without stdout, stderr and artifact bytes (result.json).
std::string result_summary_json(const v1::Task::Wasip1::Response& response);

}  // namespace wasimoff::cli
