// WebSocket transport to the Broker (docs/protocol.md §6): offers both subprotocols, the Broker
// picks one; binary messages carry protobuf Envelopes, text messages JSON Envelopes.
import { SUBPROTOCOLS, codecForSubprotocol, decodeBinary, decodeJson, encode, type Codec } from "./codec";
import type { Envelope } from "./proto";
import { ReceiveQueue, TransportClosedError, type CloseInfo, type Transport } from "./transport";

/** Outgoing bytes the browser may buffer before send() waits for the socket to drain. */
const SEND_HIGH_WATER = 8 * 1024 * 1024;
/** How long send() waits for the socket to drain before giving up on the connection. */
const DRAIN_TIMEOUT_MS = 60_000;

export class WebSocketTransport implements Transport {
  readonly kind = "websocket" as const;
  readonly closed: Promise<CloseInfo>;
  private readonly queue = new ReceiveQueue<Envelope>();
  private closeInfo: CloseInfo | undefined;
  private resolveClosed!: (info: CloseInfo) => void;

  private constructor(
    private readonly ws: WebSocket,
    readonly codec: Codec,
  ) {
    this.closed = new Promise((r) => (this.resolveClosed = r));
    ws.onmessage = (ev) => this.onMessage(ev.data);
    ws.onclose = (ev) => this.finish({ code: ev.code, reason: ev.reason });
    ws.onerror = () => {
      /* followed by onclose */
    };
  }

  /**
   * Opens `url` (ws: or wss:) and waits for the handshake, at most `timeoutMs`. Rejects when the
   * connection fails or the Broker negotiated none of our subprotocols.
   */
  static connect(url: string, timeoutMs = 10_000): Promise<WebSocketTransport> {
    return new Promise((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(url, [SUBPROTOCOLS.protobuf, SUBPROTOCOLS.json]);
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      ws.binaryType = "arraybuffer";
      const timer = setTimeout(() => {
        ws.close();
        reject(new Error(`WebSocket ${url}: no handshake within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      ws.onopen = () => {
        clearTimeout(timer);
        const codec = codecForSubprotocol(ws.protocol);
        if (!codec) {
          ws.close(1002, "no supported subprotocol");
          reject(new Error(`WebSocket ${url}: Broker chose no supported subprotocol ("${ws.protocol}")`));
          return;
        }
        resolve(new WebSocketTransport(ws, codec));
      };
      ws.onclose = (ev) => {
        clearTimeout(timer);
        reject(new Error(`WebSocket ${url}: connection failed (${ev.code}${ev.reason ? " " + ev.reason : ""})`));
      };
    });
  }

  /** The negotiated subprotocol, for display. */
  get subprotocol(): string {
    return this.ws.protocol;
  }

  async send(env: Envelope): Promise<void> {
    if (this.closeInfo) throw new TransportClosedError(this.closeInfo);
    const data = encode(this.codec, env);
    const started = Date.now();
    while (this.ws.bufferedAmount > SEND_HIGH_WATER) {
      if (Date.now() - started > DRAIN_TIMEOUT_MS) {
        this.close(1011, "send timeout");
        throw new Error("WebSocket send timed out: the Broker does not read");
      }
      await new Promise((r) => setTimeout(r, 20));
      if (this.closeInfo) throw new TransportClosedError(this.closeInfo);
    }
    this.ws.send(data);
  }

  receive(): Promise<Envelope | null> {
    return this.queue.next();
  }

  close(code: number, reason: string): void {
    if (this.closeInfo) return;
    try {
      this.ws.close(code, reason);
    } catch {
      this.ws.close();
    }
    // onclose follows; report our own code if the browser does not.
    setTimeout(() => this.finish({ code, reason }), 5000);
  }

  private onMessage(data: unknown): void {
    if (this.closeInfo) return;
    let env: Envelope;
    const isText = typeof data === "string";
    if (isText !== (this.codec === "json")) {
      this.close(1003, `sent ${isText ? "MessageText" : "MessageBinary"} to a ${this.ws.protocol} transport`);
      return;
    }
    try {
      env = isText ? decodeJson(data as string) : decodeBinary(new Uint8Array(data as ArrayBuffer));
    } catch (e) {
      this.close(1002, `undecodable envelope: ${e instanceof Error ? e.message : String(e)}`.slice(0, 120));
      return;
    }
    if (!this.queue.push(env)) this.close(1011, "receive queue overflow");
  }

  private finish(info: CloseInfo): void {
    if (this.closeInfo) return;
    this.closeInfo = info;
    this.queue.end();
    this.resolveClosed(info);
  }
}
