// Keeps the provider connected to the Broker (docs/provider-internals.md §4 "Connection"):
// before every (re)connect fetch the discovery document; prefer WebTransport (with the pinned
// certificate hash) when the browser supports it and the Broker offers it; fall back to the
// WebSocket endpoint on any failure (unless mode=webtransport); reconnect with back-off 1 s → 30 s.
import { create } from "@bufbuild/protobuf";
import { Backoff } from "./backoff";
import { Messenger, errorText } from "./messenger";
import { webtransportUrl, websocketUrl, type Options } from "./options";
import { EnvelopeSchema, Envelope_MessageType, pack, type Event_ProviderResources } from "./proto";
import type { Provider } from "./provider";
import type { CloseInfo, Transport, TransportKind } from "./transport";
import { WebSocketTransport } from "./websocket_transport";
import { WebTransportTransport, parseCertHash, webTransportAvailable } from "./webtransport_transport";
import { DISCONNECT, LIMITS } from "../gen/contract";

export type ConnState = "disconnected" | "connecting" | "connected" | "waiting";

export interface ConnectionHooks {
  state(state: ConnState, transport?: TransportKind, detail?: string): void;
  log(level: "debug" | "info" | "warn" | "error", text: string): void;
}

/** The discovery document (docs/http-api.md). */
export interface BrokerConfig {
  transport?: string;
  certhash?: string;
  /** The largest message the Broker accepts (absent from older Brokers: 64 MiB then). */
  maxMessageSize?: number;
  /** The Broker understands ProviderCapabilities (absent from older Brokers). */
  capabilities?: boolean;
}

/** GET the discovery document; failures give {} (→ WebSocket) and a log line. */
export async function fetchBrokerConfig(url: string, timeoutMs = 10_000): Promise<BrokerConfig> {
  const res = await fetch(url, { cache: "no-store", signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`GET ${url}: status ${res.status}`);
  const json: unknown = await res.json();
  if (json === null || typeof json !== "object") throw new Error(`GET ${url}: not a JSON object`);
  const o = json as Record<string, unknown>;
  return {
    transport: typeof o.transport === "string" && o.transport !== "" ? o.transport : undefined,
    certhash: typeof o.certhash === "string" && o.certhash !== "" ? o.certhash : undefined,
    // Only values within the Broker's own range (1 MiB – 1 GiB) are believed.
    maxMessageSize:
      typeof o.maxMessageSize === "number" && o.maxMessageSize >= LIMITS.maxMessageSizeMin && o.maxMessageSize <= LIMITS.maxMessageSizeMax
        ? Math.floor(o.maxMessageSize)
        : undefined,
    capabilities: o.capabilities === true,
  };
}

/** Time the page waits for running tasks when disconnecting before it cancels them. */
const LEAVE_GRACE_MS = 10_000;

export class Connection {
  private stopped = true;
  private transport: Transport | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly backoff = new Backoff();
  private firstResources: Event_ProviderResources | undefined;

  constructor(
    private readonly opts: Options,
    private readonly id: string,
    private readonly provider: Provider,
    private readonly hooks: ConnectionHooks,
  ) {}

  get running(): boolean {
    return !this.stopped;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.backoff.reset();
    this.loop = this.run();
  }

  /**
   * Leaves (docs/protocol.md §9): the caller has scaled the pool to 0 (ProviderResources with
   * concurrency 0 went out); wait for running tasks up to the grace period, cancel the rest,
   * then close normally.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wake?.();
    const until = Date.now() + LEAVE_GRACE_MS;
    while (this.provider.active > 0 && this.transport && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
    }
    if (this.provider.active > 0) this.provider.cancelAll("provider disconnecting");
    // Let the cancellation answers go out before closing.
    if (this.transport) await new Promise((r) => setTimeout(r, 100));
    this.transport?.close(DISCONNECT.code, DISCONNECT.reason);
    await this.loop;
  }

  /** Page is going away: close at once (no grace period), so the Broker sees a normal close. */
  closeNow(): void {
    this.stopped = true;
    this.wake?.();
    this.transport?.close(DISCONNECT.code, DISCONNECT.reason);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let upSince = 0;
      try {
        this.hooks.state("connecting");
        const t = await this.open();
        if (this.stopped) {
          t.close(DISCONNECT.code, DISCONNECT.reason);
          break;
        }
        upSince = Date.now();
        this.transport = t;
        this.hooks.state("connected", t.kind);
        this.hooks.log("info", `connected via ${t.kind === "webtransport" ? "WebTransport" : "WebSocket"}`);
        const m = new Messenger(
          t,
          {
            onRequest: (msg) => this.provider.handleRequest(msg),
            onEvent: (msg) => this.provider.handleEvent(msg),
            log: (level, text) => this.hooks.log(level, text),
          },
          t.kind === "webtransport" ? 2n : 1n,
        );
        this.provider.attach(m, t.kind === "webtransport" ? this.firstResources : undefined);
        this.provider.announceResources(); // WebSocket: the first message; WebTransport: only if changed
        this.provider.announceCapabilities();
        const info: CloseInfo = await m.run();
        this.provider.detach();
        this.transport = undefined;
        // Nobody can receive the results any more (the Broker retries those tasks elsewhere):
        // free the workers for the next connection.
        this.provider.cancelAll("connection lost");
        this.hooks.log(info.code === 1000 ? "info" : "warn", `connection closed: ${info.code}${info.reason ? " " + info.reason : ""}`);
      } catch (e) {
        this.hooks.log("warn", `connect failed: ${errorText(e)}`);
      }
      if (this.stopped) break;
      this.backoff.connectionEnded(upSince ? Date.now() - upSince : 0);
      const delay = this.backoff.next();
      this.hooks.state("waiting", undefined, `reconnecting in ${(delay / 1000).toFixed(1)} s`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, delay);
        this.wake = () => (clearTimeout(t), r());
      });
      this.wake = undefined;
    }
    this.hooks.state("disconnected");
  }

  private async open(): Promise<Transport> {
    const o = this.opts;
    let cfg: BrokerConfig = {};
    try {
      cfg = await fetchBrokerConfig(o.config);
    } catch (e) {
      this.hooks.log("warn", `discovery: ${errorText(e)}`);
    }
    this.provider.setMessageLimit(cfg.maxMessageSize);
    this.provider.setBrokerCapabilities(cfg.capabilities === true);
    const transportUrl = o.transport ?? cfg.transport;
    const certhash = o.certhash ?? cfg.certhash;
    if (o.mode !== "websocket") {
      const why = !webTransportAvailable()
        ? "WebTransport is not available in this browser or context"
        : !transportUrl
          ? "the Broker offers no WebTransport URL"
          : undefined;
      if (why === undefined) {
        try {
          this.firstResources = this.provider.resources();
          const first = create(EnvelopeSchema, {
            sequence: 1n,
            type: Envelope_MessageType.Event,
            payload: pack(this.firstResources),
          });
          const url = webtransportUrl(transportUrl!, this.id, o.token);
          return await WebTransportTransport.connect(url, certhash ? parseCertHash(certhash) : undefined, first);
        } catch (e) {
          if (o.mode === "webtransport") throw e;
          this.hooks.log("warn", `WebTransport failed (${errorText(e)}); falling back to WebSocket`);
        }
      } else if (o.mode === "webtransport") {
        throw new Error(why);
      } else {
        this.hooks.log("debug", `${why}; using WebSocket`);
      }
    }
    return WebSocketTransport.connect(websocketUrl(o.broker, this.id, o.token));
  }
}
