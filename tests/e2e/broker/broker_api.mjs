// The Broker's HTTP API as the tests use it (docs/http-api.md §4, §6, §7, §8), with Node's fetch.
// Every call has a time limit; non-2xx answers throw unless the caller asks for the raw result.

/** Error of a Connect call: `status` (HTTP) and `code` (Connect code) of the answer. */
export class ConnectError extends Error {
  constructor(status, code, message) {
    super(`HTTP ${status} ${code}: ${message}`);
    this.status = status;
    this.code = code;
  }
}

export class BrokerApi {
  /** @param url  the Broker's HTTP origin, e.g. http://127.0.0.1:40123 */
  constructor(url) {
    this.url = url;
  }

  async get(path, timeoutMs = 10_000) {
    const res = await fetch(this.url + path, { signal: AbortSignal.timeout(timeoutMs) });
    const body = await res.text();
    if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status} ${body.slice(0, 200)}`);
    return { res, body };
  }

  /** Uploads `bytes` under the alias `name`; returns the sha256 ref. */
  async upload(name, bytes) {
    const res = await fetch(`${this.url}/api/storage/upload?name=${encodeURIComponent(name)}`, {
      method: "POST",
      body: bytes,
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await res.text()).trim();
    if (!res.ok) throw new Error(`upload ${name}: HTTP ${res.status} ${body}`);
    return body;
  }

  /** GET /debug/state (needs WASIMOFF_DEBUG=true). */
  async state() {
    return JSON.parse((await this.get("/debug/state")).body);
  }

  /** GET /api/broker/v1/config. */
  async config() {
    return JSON.parse((await this.get("/api/broker/v1/config")).body);
  }

  /** GET /metrics, parsed into {"name{labels}": number} for the series without a timestamp. */
  async metrics() {
    const out = {};
    for (const line of (await this.get("/metrics")).body.split("\n")) {
      if (!line || line.startsWith("#")) continue;
      const m = /^(\S+)\s+(\S+)$/.exec(line);
      if (m) out[m[1]] = Number(m[2]);
    }
    return out;
  }

  /**
   * One Connect unary call with the JSON codec. `timeoutMs` is both the Connect-Timeout-Ms header
   * (unless `header` is false) and the local abort; `signal` aborts early (client goes away).
   */
  async call(method, request, { timeoutMs = 120_000, header = true, signal } = {}) {
    const headers = { "Content-Type": "application/json" };
    if (header) headers["Connect-Timeout-Ms"] = String(timeoutMs);
    const local = AbortSignal.timeout(timeoutMs + 15_000);
    const res = await fetch(`${this.url}/api/client/wasimoff.v1.Tasks/${method}`, {
      method: "POST",
      headers,
      body: JSON.stringify(request),
      signal: signal ? AbortSignal.any([signal, local]) : local,
    });
    const text = await res.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`${method}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
    }
    if (!res.ok) throw new ConnectError(res.status, body.code, body.message);
    return body;
  }

  runTask(request, opts) {
    return this.call("RunWasip1", request, opts);
  }

  runJob(request, opts) {
    return this.call("RunWasip1Job", request, opts);
  }
}

/** The registered providers of /debug/state, by name. */
export function providersByName(state) {
  return Object.fromEntries(state.providers.map((p) => [p.name, p]));
}
