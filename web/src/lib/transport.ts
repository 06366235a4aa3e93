// The abstract connection between this provider and the Broker: it moves whole Envelopes.
// Implementations: WebSocketTransport (websocket_transport.ts), WebTransportTransport
// (webtransport_transport.ts), and an in-memory pair for tests (test/…).
import type { Envelope } from "./proto";

export type TransportKind = "webtransport" | "websocket";

/** How a transport ended: WebSocket-style code (1000 normal, 1002 protocol, …) and reason. */
export interface CloseInfo {
  code: number;
  reason: string;
}

export interface Transport {
  readonly kind: TransportKind;
  /**
   * Sends one Envelope. Resolves once it was handed to the network layer (WebTransport: written
   * to the stream, which applies backpressure); rejects when the transport is closed.
   */
  send(env: Envelope): Promise<void>;
  /**
   * The next received Envelope, or null once the transport closed. Only one caller may wait at a
   * time. Undecodable input closes the transport with 1002 and yields null.
   */
  receive(): Promise<Envelope | null>;
  /** Closes the transport (idempotent); `closed` resolves afterwards. */
  close(code: number, reason: string): void;
  /** Resolves exactly once, when the transport has ended for any reason. */
  readonly closed: Promise<CloseInfo>;
}

/** Thrown by send() after the transport ended. */
export class TransportClosedError extends Error {
  constructor(info: CloseInfo) {
    super(`transport closed (${info.code}${info.reason ? ": " + info.reason : ""})`);
    this.name = "TransportClosedError";
  }
}

/**
 * A bounded FIFO that hands received Envelopes to the single reader. When the reader falls more
 * than `limit` messages behind, push() returns false and the transport closes with 1011 rather
 * than buffering without bound.
 */
export class ReceiveQueue<T> {
  private items: T[] = [];
  private waiter: ((v: T | null) => void) | undefined;
  private ended = false;

  constructor(private readonly limit = 4096) {}

  push(item: T): boolean {
    if (this.ended) return true;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(item);
      return true;
    }
    if (this.items.length >= this.limit) return false;
    this.items.push(item);
    return true;
  }

  /** Ends the queue: buffered items are dropped, the waiting reader gets null. */
  end(): void {
    this.ended = true;
    this.items = [];
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(null);
    }
  }

  next(): Promise<T | null> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift() as T);
    if (this.ended) return Promise.resolve(null);
    if (this.waiter) return Promise.reject(new Error("ReceiveQueue: only one reader may wait"));
    return new Promise((resolve) => (this.waiter = resolve));
  }
}
