;; noop: the smallest WASI command — `_start` returns at once (exit status 0, no output). A task
;; of it measures the fixed cost of a task: Broker scheduling, the transport, a fresh instance in
;; a worker, and the answer. It imports one WASI function (unused) so it is an ordinary WASI
;; module for every runtime.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")))
