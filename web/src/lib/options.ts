// URL fragment options of the provider page (docs/provider-internals.md §4), e.g.
// "#autoconnect=yes&workers=max&broker=http://127.0.0.1:4080".
//
// parseOptions is pure (no DOM access) so it can be unit-tested; invalid values are reported in
// `problems` and replaced by the default, so a typo never stops the page.
import { PATHS } from "../gen/contract";

export type Mode = "auto" | "webtransport" | "websocket";

export interface Options {
  autoconnect: boolean;
  /** Requested pool size, already clamped to 0…capacity. */
  workers: number;
  /** Broker HTTP(S) origin without trailing slash. */
  broker: string;
  /** Discovery document URL. */
  config: string;
  /** WebTransport URL / certificate hash overriding the discovery document. */
  transport?: string;
  certhash?: string;
  mode: Mode;
  /** Provider name from the fragment; undefined = use the stored id. */
  id?: string;
  token?: string;
  verbose: boolean;
  problems: string[];
}

const TRUTHY = new Set(["", "true", "t", "yes", "y", "1", "on"]);
const FALSY = new Set(["false", "f", "no", "n", "0", "off"]);

/** Parses a boolean option; undefined when the text is neither truthy nor falsy. */
export function parseBool(text: string): boolean | undefined {
  const t = text.trim().toLowerCase();
  if (TRUTHY.has(t)) return true;
  if (FALSY.has(t)) return false;
  return undefined;
}

/** Parses "max" or a non-negative integer, clamped to `capacity`. */
export function parseWorkers(text: string, capacity: number): number | undefined {
  const t = text.trim().toLowerCase();
  if (t === "max" || t === "") return capacity;
  if (!/^\d+$/.test(t)) return undefined;
  return Math.min(Number(t), capacity);
}

function stripSlash(s: string): string {
  return s.replace(/\/+$/, "");
}

/** The value of one fragment option; undefined when absent. */
type Get = (key: string) => string | undefined;

const KNOWN = new Set(["autoconnect", "workers", "broker", "config", "transport", "certhash", "mode", "id", "token", "verbose"]);

/**
 * @param fragment  location.hash (with or without the leading "#")
 * @param origin    the page origin (default broker)
 * @param capacity  navigator.hardwareConcurrency (at least 1)
 */
export function parseOptions(fragment: string, origin: string, capacity: number): Options {
  const cap = Math.max(1, Math.floor(capacity) || 1);
  const params = new URLSearchParams(fragment.replace(/^#/, ""));
  const problems: string[] = [];
  const opts: Options = {
    autoconnect: true,
    workers: cap,
    broker: stripSlash(origin),
    config: "",
    mode: "auto",
    verbose: false,
    problems,
  };
  for (const key of params.keys()) {
    if (!KNOWN.has(key)) problems.push(`unknown option "${key}" ignored`);
  }
  const get: Get = (k) => params.get(k) ?? undefined;
  parseSwitches(get, opts, cap);
  parseEndpoints(get, opts);
  parseConnection(get, opts);
  return opts;
}

/** autoconnect, verbose and workers. */
function parseSwitches(get: Get, opts: Options, cap: number): void {
  const ac = get("autoconnect");
  if (ac !== undefined) {
    const b = parseBool(ac);
    if (b === undefined) opts.problems.push(`autoconnect="${ac}" is not a boolean; using true`);
    else opts.autoconnect = b;
  }
  const vb = get("verbose");
  if (vb !== undefined) {
    const b = parseBool(vb);
    if (b === undefined) opts.problems.push(`verbose="${vb}" is not a boolean; using false`);
    else opts.verbose = b;
  }
  const w = get("workers");
  if (w !== undefined) {
    const n = parseWorkers(w, cap);
    if (n === undefined) opts.problems.push(`workers="${w}" is neither "max" nor a number; using max`);
    else opts.workers = n;
  }
}

/** broker, config (default: the Broker's discovery document), transport and certhash. */
function parseEndpoints(get: Get, opts: Options): void {
  const b = get("broker");
  if (b !== undefined && b !== "") {
    try {
      const u = new URL(b);
      if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("not http(s)");
      opts.broker = u.origin;
    } catch {
      opts.problems.push(`broker="${b}" is not an http(s) origin; using ${opts.broker}`);
    }
  }
  opts.config = `${opts.broker}${PATHS.brokerConfig}`;
  const c = get("config");
  if (c !== undefined && c !== "") {
    try {
      opts.config = new URL(c, opts.broker + "/").href;
    } catch {
      opts.problems.push(`config="${c}" is not a URL; using ${opts.config}`);
    }
  }
  const t = get("transport");
  if (t !== undefined && t !== "") {
    try {
      const u = new URL(t);
      if (u.protocol !== "https:") throw new Error("not https");
      opts.transport = u.href;
    } catch {
      opts.problems.push(`transport="${t}" is not an https:// URL; ignored`);
    }
  }
  const h = get("certhash");
  if (h !== undefined && h !== "") {
    if (/^[0-9a-fA-F]{64}$/.test(h)) opts.certhash = h.toLowerCase();
    else opts.problems.push(`certhash="${h}" is not 64 hex digits; ignored`);
  }
}

/** mode, id and token. */
function parseConnection(get: Get, opts: Options): void {
  const m = get("mode");
  if (m !== undefined) {
    const v = m.trim().toLowerCase();
    if (v === "auto" || v === "webtransport" || v === "websocket") opts.mode = v;
    else opts.problems.push(`mode="${m}" is not auto, webtransport or websocket; using auto`);
  }
  const id = get("id");
  if (id !== undefined && id !== "") opts.id = id;
  const tok = get("token");
  if (tok !== undefined && tok !== "") opts.token = tok;
}

/** The provider WebSocket URL for a Broker origin (docs/protocol.md §6). */
export function websocketUrl(broker: string, id: string, token?: string): string {
  const u = new URL(PATHS.providerWebSocket, broker + "/");
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  u.searchParams.set("id", id);
  if (token) u.searchParams.set("token", token);
  return u.href;
}

/** The WebTransport session URL with our query options appended (docs/protocol.md §7). */
export function webtransportUrl(transport: string, id: string, token?: string): string {
  const u = new URL(transport);
  u.searchParams.set("id", id);
  if (token) u.searchParams.set("token", token);
  return u.href;
}
