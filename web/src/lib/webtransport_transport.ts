// WebTransport transport to the Broker (docs/protocol.md §7, docs/provider-internals.md §4): one
// session, one bidirectional stream carrying varint-length-delimited binary Envelopes in both
// directions. The provider writes its first Envelope (ProviderResources) as soon as the stream
// exists, because a QUIC stream only becomes visible to the Broker once data flows.
import { decodeBinary, encodeBinary } from "./codec";
import { FrameDecoder, FramingError, encodeFrame } from "./framing";
import type { Envelope } from "./proto";
import { ReceiveQueue, TransportClosedError, type CloseInfo, type Transport } from "./transport";

/** Bytes written but not yet accepted by the stream before send() fails the connection. */
const MAX_QUEUED_BYTES = 192 * 1024 * 1024;

/** Is the WebTransport API usable here (it needs a secure context)? */
export function webTransportAvailable(): boolean {
  return typeof globalThis.WebTransport === "function" && globalThis.isSecureContext === true;
}

/** Parses the 64-hex-digit `certhash` of the discovery document into 32 bytes. */
export function parseCertHash(hex: string): Uint8Array<ArrayBuffer> {
  const h = hex.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(h)) throw new Error(`certhash is not 64 hex digits: "${hex}"`);
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(h.substr(i * 2, 2), 16);
  return out;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}

export class WebTransportTransport implements Transport {
  readonly kind = "webtransport" as const;
  readonly closed: Promise<CloseInfo>;
  private readonly queue = new ReceiveQueue<Envelope>();
  private readonly decoder = new FrameDecoder();
  private closeInfo: CloseInfo | undefined;
  private resolveClosed!: (info: CloseInfo) => void;
  private queuedBytes = 0;

  private constructor(
    private readonly wt: WebTransport,
    private readonly writer: WritableStreamDefaultWriter<Uint8Array>,
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
  ) {
    this.closed = new Promise((r) => (this.resolveClosed = r));
    wt.closed.then(
      (i) => this.finish({ code: i.closeCode === 0 || i.closeCode === undefined ? 1000 : i.closeCode, reason: i.reason ?? "" }),
      (e) => this.finish({ code: 1006, reason: e instanceof Error ? e.message : String(e) }),
    );
    void this.readLoop();
  }

  /**
   * Opens a session to `url`, waits for it to be ready (at most `timeoutMs`), opens the message
   * stream and writes `first` on it at once. `certHash` (32 bytes) pins the server certificate.
   */
  static async connect(
    url: string,
    certHash: Uint8Array<ArrayBuffer> | undefined,
    first: Envelope,
    timeoutMs = 10_000,
  ): Promise<WebTransportTransport> {
    const options: WebTransportOptions = {};
    if (certHash) options.serverCertificateHashes = [{ algorithm: "sha-256", value: certHash }];
    const wt = new WebTransport(url, options);
    wt.closed.catch(() => {}); // observed by the instance; avoid an unhandled rejection here
    try {
      await withTimeout(wt.ready, timeoutMs, `WebTransport ${url}`);
      const stream = await withTimeout(wt.createBidirectionalStream(), timeoutMs, "WebTransport stream");
      const writer = stream.writable.getWriter();
      await withTimeout(writer.write(encodeFrame(encodeBinary(first))), timeoutMs, "WebTransport first write");
      return new WebTransportTransport(wt, writer, stream.readable.getReader());
    } catch (e) {
      try {
        wt.close({ closeCode: 0, reason: "connect failed" });
      } catch {
        /* already closed */
      }
      throw e instanceof Error ? e : new Error(String(e));
    }
  }

  async send(env: Envelope): Promise<void> {
    if (this.closeInfo) throw new TransportClosedError(this.closeInfo);
    const frame = encodeFrame(encodeBinary(env));
    if (this.queuedBytes + frame.length > MAX_QUEUED_BYTES) {
      this.close(1011, "send queue overflow");
      throw new Error("WebTransport send queue overflow: the Broker does not read");
    }
    this.queuedBytes += frame.length;
    try {
      await this.writer.write(frame);
    } catch (e) {
      if (this.closeInfo) throw new TransportClosedError(this.closeInfo);
      throw e;
    } finally {
      this.queuedBytes -= frame.length;
    }
  }

  receive(): Promise<Envelope | null> {
    return this.queue.next();
  }

  close(code: number, reason: string): void {
    if (this.closeInfo) return;
    try {
      // WebTransport uses 0 for a normal close, the WebSocket-style codes otherwise.
      this.wt.close({ closeCode: code === 1000 ? 0 : code, reason });
    } catch {
      /* already closing */
    }
    this.finish({ code, reason });
  }

  private async readLoop(): Promise<void> {
    try {
      for (;;) {
        const { value, done } = await this.reader.read();
        if (done) {
          this.close(1000, "stream finished");
          return;
        }
        for (const frame of this.decoder.push(value)) {
          if (frame.length === 0) continue; // an empty Envelope has no type: ignored
          let env: Envelope;
          try {
            env = decodeBinary(frame);
          } catch (e) {
            this.close(1002, `undecodable envelope: ${e instanceof Error ? e.message : String(e)}`.slice(0, 120));
            return;
          }
          if (!this.queue.push(env)) {
            this.close(1011, "receive queue overflow");
            return;
          }
        }
      }
    } catch (e) {
      if (e instanceof FramingError) this.close(e.code, e.message);
      else this.finish({ code: 1006, reason: e instanceof Error ? e.message : String(e) });
    }
  }

  private finish(info: CloseInfo): void {
    if (this.closeInfo) return;
    this.closeInfo = info;
    this.queue.end();
    this.reader.cancel().catch(() => {});
    this.resolveClosed(info);
  }
}
