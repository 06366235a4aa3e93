// Shared test helpers: WAT fixtures, the wire vectors, hex, and an in-memory Transport pair.
import fixtures from "./fixtures/wasm.json";
import wireVectorFile from "../../tests/data/wire_vectors.json";
import type { Envelope } from "../src/lib/proto";
import { ReceiveQueue, TransportClosedError, type CloseInfo, type Transport } from "../src/lib/transport";
import { decodeBinary, encodeBinary } from "../src/lib/codec";

export type FixtureName = keyof typeof fixtures;

export function wasm(name: FixtureName): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(fixtures[name], "base64"));
}

/** One Envelope byte vector of tests/data/wire_vectors.json (see its "about"). */
export interface WireVector {
  name: string;
  /** Number in docs/protocol.md §5 (absent for the browser provider's answers). */
  spec?: number;
  sequence: number;
  type: string;
  payload: string | null;
  hex: string;
  /** Canonical JSON as the C++ codec writes it ("@type" first; ours writes it last). */
  json: string;
  json_lenient?: string[];
}

export const wireVectors: readonly WireVector[] = wireVectorFile.vectors;

/** The wire vector called `name`; throws if there is none. */
export function wireVector(name: string): WireVector {
  const v = wireVectors.find((x) => x.name === name);
  if (!v) throw new Error(`no wire vector named "${name}" in tests/data/wire_vectors.json`);
  return v;
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

export function unhex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"));
}

/** One end of an in-memory connection; Envelopes are copied through the binary codec. */
export class MemoryTransport implements Transport {
  readonly kind = "websocket" as const;
  readonly closed: Promise<CloseInfo>;
  readonly queue = new ReceiveQueue<Envelope>();
  peer!: MemoryTransport;
  sent: Envelope[] = [];
  private info: CloseInfo | undefined;
  private resolveClosed!: (i: CloseInfo) => void;

  constructor() {
    this.closed = new Promise((r) => (this.resolveClosed = r));
  }

  static pair(): [MemoryTransport, MemoryTransport] {
    const a = new MemoryTransport();
    const b = new MemoryTransport();
    a.peer = b;
    b.peer = a;
    return [a, b];
  }

  async send(env: Envelope): Promise<void> {
    if (this.info) throw new TransportClosedError(this.info);
    this.sent.push(env);
    this.peer.queue.push(decodeBinary(encodeBinary(env)));
  }

  receive(): Promise<Envelope | null> {
    return this.queue.next();
  }

  close(code: number, reason: string): void {
    this.finish({ code, reason });
    this.peer.finish({ code, reason });
  }

  private finish(info: CloseInfo) {
    if (this.info) return;
    this.info = info;
    this.queue.end();
    this.resolveClosed(info);
  }
}
