// Reactive page state shown by the UI, and the read-only `window.wasimoff` status object that
// browser tests poll instead of scraping the DOM.
import { reactive } from "vue";
import type { ConnState } from "./lib/connection";
import type { TransportKind } from "./lib/transport";

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface LogLine {
  n: number;
  time: string;
  level: LogLevel;
  text: string;
}

export interface Sample {
  t: number; // ms since epoch
  overall: number;
  yours: number;
}

/** Log lines kept for display. */
export const MAX_LOG_LINES = 500;
/** Longer log texts (e.g. a Broker GenericMessage) are cut. */
const MAX_LINE = 2000;
/** Throughput history shown in the chart. */
export const CHART_WINDOW_MS = 60_000;

export const state = reactive({
  id: "",
  /** Set when the page cannot run (second tab, no Web Workers, …). */
  fatal: "",
  conn: "disconnected" as ConnState,
  connDetail: "",
  transport: undefined as TransportKind | undefined,
  /** The user's chosen pool size (applied while connected). */
  workers: 0,
  capacity: 1,
  pool: [] as { id: number; busy: boolean; retiring: boolean; task?: string }[],
  busy: 0,
  providers: 0,
  overall: 0,
  yours: 0,
  series: [] as Sample[],
  done: 0,
  failed: 0,
  storage: "",
  files: 0,
  verbose: false,
  log: [] as LogLine[],
  version: "",
});

let logCounter = 0;

export function addLog(level: LogLevel, text: string): void {
  if (level === "debug" && !state.verbose) {
    console.debug(text);
    return;
  }
  const d = new Date();
  if (text.length > MAX_LINE) text = text.slice(0, MAX_LINE) + ` … (${text.length - MAX_LINE} more characters)`;
  state.log.push({ n: ++logCounter, time: d.toLocaleTimeString(undefined, { hour12: false }), level, text });
  if (state.log.length > MAX_LOG_LINES) state.log.splice(0, state.log.length - MAX_LOG_LINES);
  (level === "error" ? console.error : level === "warn" ? console.warn : console.log)(`[wasimoff] ${text}`);
}

export function addSample(overall: number, yours: number): void {
  const t = Date.now();
  state.overall = overall;
  state.yours = yours;
  state.series.push({ t, overall, yours });
  while (state.series.length > 0 && state.series[0].t < t - CHART_WINDOW_MS) state.series.shift();
}

/** Installs window.wasimoff: a frozen object whose getters read the live state. */
export function exposeStatus(): void {
  const status = Object.freeze({
    get ready() {
      return state.id !== "" && state.fatal === "";
    },
    get fatal() {
      return state.fatal;
    },
    get id() {
      return state.id;
    },
    get connected() {
      return state.conn === "connected";
    },
    get state() {
      return state.conn;
    },
    get transport() {
      return state.transport ?? null;
    },
    get workers() {
      return state.pool.filter((w) => !w.retiring).length;
    },
    get busy() {
      return state.busy;
    },
    get providers() {
      return state.providers;
    },
    get tasksDone() {
      return state.done;
    },
    get tasksFailed() {
      return state.failed;
    },
    get files() {
      return state.files;
    },
  });
  Object.defineProperty(window, "wasimoff", { value: status, writable: false, configurable: false });
}
