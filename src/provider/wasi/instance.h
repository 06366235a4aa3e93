// The structs wasm2c's generated code passes to every WASI import, one per import module name
// (wasm2c 1.0.32 names them `struct Z_<module>_instance_t`): `Z_wasi_snapshot_preview1_instance_t`
// for preview 1 and `Z_wasi_unstable_instance_t` for preview 0. They are only forward-declared in
// the generated header; these definitions are ours. Both carry the Context of the task being run
// (one Context per run, shared when a module imports from both names).
#pragma once

namespace wasimoff::wasi {
class Context;
}

struct Z_wasi_snapshot_preview1_instance_t {
  wasimoff::wasi::Context* context;
};

struct Z_wasi_unstable_instance_t {
  wasimoff::wasi::Context* context;
};
