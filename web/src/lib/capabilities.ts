// What the page can run, in one place: used by the WASI runner (wasi_run.ts, in the workers) and
// announced to the Broker in ProviderCapabilities (provider.ts) — docs/scheduling.md §3.
import { LIMITS, WASI } from "../gen/contract";

/** The WASI import module names the page provides. */
export const WASI_MODULES: readonly string[] = WASI.modules;

/** Linear-memory limit of one task in bytes. */
export const DEFAULT_MEMORY_LIMIT: number = LIMITS.memoryLimitDefault;
