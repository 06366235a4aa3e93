// What the page can run, in one place: used by the WASI runner (wasi_run.ts, in the workers) and
// announced to the Broker in ProviderCapabilities (provider.ts) — docs/scheduling.md §3.

/** The WASI import module names the page provides. */
export const WASI_MODULES: readonly string[] = ["wasi_snapshot_preview1", "wasi_unstable"];

/** Linear-memory limit of one task in bytes. */
export const DEFAULT_MEMORY_LIMIT = 1024 * 1024 * 1024;
