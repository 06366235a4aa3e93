// A minimal stand-in for the Broker's provider side, enough to drive the page end to end before
// the real Broker endpoints exist: serves the page (COOP/COEP), the discovery document, storage
// downloads and the provider WebSocket. It negotiates the JSON subprotocol by default (the page
// must speak both; JSON needs no protobuf library here; docs/protocol.md §4.2); with the protobuf
// subprotocol it exchanges raw bytes (test vectors of docs/protocol.md §5).
import { createHash } from "node:crypto";
import { WebSocketServer } from "ws";
import { ISOLATION_HEADERS, startStaticServer } from "./static_server.mjs";

export const T = "wasimoff/wasimoff.v1.";

export function refOf(bytes) {
  return "sha256:" + createHash("sha256").update(bytes).digest("hex");
}

/** One provider connection: JSON Envelopes, our own Request counter, bounded waits. */
export class ProviderSession {
  constructor(ws, url) {
    this.ws = ws;
    this.url = url;
    this.seq = 0;
    this.pending = new Map();
    this.events = [];
    this.eventWaiters = [];
    this.requests = [];
    this.closed = new Promise((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })));
    /** Raw binary messages (hex) when the protobuf subprotocol was negotiated. */
    this.binary = [];
    ws.on("message", (data, isBinary) => {
      if (isBinary) {
        this.binary.push(Buffer.from(data).toString("hex"));
        for (const w of [...this.eventWaiters]) w();
        return;
      }
      const env = JSON.parse(data.toString());
      if (env.type === "Response") {
        const p = this.pending.get(String(env.sequence ?? "0"));
        if (p) {
          this.pending.delete(String(env.sequence ?? "0"));
          p(env);
        }
      } else if (env.type === "Event") {
        this.events.push(env);
        for (const w of [...this.eventWaiters]) w();
      } else if (env.type === "Request") {
        this.requests.push(env);
      }
    });
  }

  /** Sends a Request with payload {"@type": T + type, ...fields}; resolves with the Response. */
  request(type, fields = {}, timeoutMs = 30_000) {
    const sequence = String(++this.seq);
    this.ws.send(JSON.stringify({ sequence, type: "Request", payload: { "@type": T + type, ...fields } }));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${type}: no response within ${timeoutMs / 1000} s`)), timeoutMs);
      this.pending.set(sequence, (env) => (clearTimeout(t), resolve(env)));
    });
  }

  /** Sends raw protobuf Envelope bytes (protobuf subprotocol only). */
  sendBinary(hex) {
    this.ws.send(Buffer.from(hex, "hex"), { binary: true });
  }

  /** Resolves with the first binary message (hex) matching pred. */
  waitBinary(pred, timeoutMs = 30_000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = this.binary.find(pred);
        if (m) {
          clearTimeout(t);
          this.eventWaiters = this.eventWaiters.filter((w) => w !== check);
          resolve(m);
        }
      };
      const t = setTimeout(() => {
        this.eventWaiters = this.eventWaiters.filter((w) => w !== check);
        reject(new Error(`no matching binary message within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.eventWaiters.push(check);
      check();
    });
  }

  sendEvent(type, fields = {}) {
    this.ws.send(JSON.stringify({ sequence: String(++this.seq), type: "Event", payload: { "@type": T + type, ...fields } }));
  }

  /** Resolves with the first received Event (from now or earlier) matching pred. */
  waitEvent(pred, timeoutMs = 30_000, from = 0) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const e = this.events.slice(from).find(pred);
        if (e) {
          clearTimeout(t);
          this.eventWaiters = this.eventWaiters.filter((w) => w !== check);
          resolve(e);
        }
      };
      const t = setTimeout(() => {
        this.eventWaiters = this.eventWaiters.filter((w) => w !== check);
        reject(new Error(`no matching event within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.eventWaiters.push(check);
      check();
    });
  }
}

/**
 * Starts the fake Broker on 127.0.0.1. `files` maps refs to bytes for /api/storage/<ref>;
 * `codec` chooses the negotiated subprotocol ("json", default, or "protobuf").
 * Returns { url, sessions (async queue via nextSession()), close }.
 */
export async function startFakeBroker({ root, files = new Map(), config = {}, codec = "json" }) {
  const subprotocol = `wasimoff_provider_v1_${codec}`;
  const storageHits = [];
  const handler = (req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    if (path === "/api/broker/v1/config") {
      res.writeHead(200, { "Content-Type": "application/json", "Access-Control-Allow-Origin": "*", "Cache-Control": "no-store" });
      res.end(JSON.stringify(config));
      return true;
    }
    if (path.startsWith("/api/storage/")) {
      const ref = decodeURIComponent(path.slice("/api/storage/".length));
      storageHits.push(ref);
      const data = files.get(ref);
      if (!data) {
        res.writeHead(404, ISOLATION_HEADERS);
        res.end("file not found");
      } else {
        res.writeHead(200, { ...ISOLATION_HEADERS, "Content-Type": "application/wasm", "x-wasimoff-ref": ref });
        res.end(data);
      }
      return true;
    }
    return false;
  };
  const srv = await startStaticServer({ root, handler });
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 64 * 1024 * 1024,
    handleProtocols: (protocols) => (protocols.has(subprotocol) ? subprotocol : false),
  });
  const queue = [];
  const waiters = [];
  srv.server.on("upgrade", (req, socket, head) => {
    if (!req.url.startsWith("/api/provider/ws")) return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      const s = new ProviderSession(ws, req.url);
      const w = waiters.shift();
      if (w) w(s);
      else queue.push(s);
    });
  });
  return {
    url: srv.url,
    storageHits,
    nextSession(timeoutMs = 30_000) {
      if (queue.length) return Promise.resolve(queue.shift());
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no provider connected within ${timeoutMs / 1000} s`)), timeoutMs);
        waiters.push((s) => (clearTimeout(t), resolve(s)));
      });
    },
    async close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await srv.close();
    },
  };
}
