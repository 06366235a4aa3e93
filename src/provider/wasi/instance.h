// The struct wasm2c's generated code passes to every WASI import: `struct
// Z_wasi_snapshot_preview1_instance_t*` is only forward-declared in the generated header, and
// this definition is ours. It carries the Context of the task being run.
#pragma once

namespace wasimoff::wasi {
class Context;
}

struct Z_wasi_snapshot_preview1_instance_t {
  wasimoff::wasi::Context* context;
};
