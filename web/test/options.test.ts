import { describe, expect, it } from "vitest";
import { parseBool, parseOptions, webtransportUrl, websocketUrl } from "../src/lib/options";

const ORIGIN = "http://127.0.0.1:4080";

describe("URL fragment options (provider.md §4)", () => {
  it("has the documented defaults", () => {
    const o = parseOptions("", ORIGIN, 8);
    expect(o).toMatchObject({
      autoconnect: true,
      workers: 8,
      broker: ORIGIN,
      config: `${ORIGIN}/api/broker/v1/config`,
      mode: "auto",
      verbose: false,
      problems: [],
    });
    expect(o.transport).toBeUndefined();
    expect(o.id).toBeUndefined();
  });

  it("accepts every truthy and falsy spelling", () => {
    for (const t of ["", "true", "t", "yes", "y", "1", "on", "YES"]) expect(parseBool(t)).toBe(true);
    for (const f of ["false", "f", "no", "n", "0", "off", "Off"]) expect(parseBool(f)).toBe(false);
    expect(parseBool("maybe")).toBeUndefined();
    expect(parseOptions("#autoconnect=no", ORIGIN, 4).autoconnect).toBe(false);
    expect(parseOptions("#autoconnect", ORIGIN, 4).autoconnect).toBe(true);
    expect(parseOptions("#verbose=on", ORIGIN, 4).verbose).toBe(true);
  });

  it("parses the spec example and clamps workers to the hardware concurrency", () => {
    const o = parseOptions("#autoconnect=yes&workers=2", ORIGIN, 4);
    expect(o.autoconnect).toBe(true);
    expect(o.workers).toBe(2);
    expect(parseOptions("#workers=64", ORIGIN, 4).workers).toBe(4);
    expect(parseOptions("#workers=max", ORIGIN, 6).workers).toBe(6);
    expect(parseOptions("#workers=0", ORIGIN, 6).workers).toBe(0);
  });

  it("derives config from broker, lets explicit values win, and reports bad values", () => {
    const o = parseOptions(
      "#broker=https://broker.example:8443/&transport=https://localhost:4443/transport&certhash=" + "AB".repeat(32) + "&mode=websocket&id=lab-1&token=s3cret",
      ORIGIN,
      2,
    );
    expect(o.broker).toBe("https://broker.example:8443");
    expect(o.config).toBe("https://broker.example:8443/api/broker/v1/config");
    expect(o.transport).toBe("https://localhost:4443/transport");
    expect(o.certhash).toBe("ab".repeat(32));
    expect(o.mode).toBe("websocket");
    expect(o.id).toBe("lab-1");
    expect(o.token).toBe("s3cret");
    expect(parseOptions("#config=/custom.json", ORIGIN, 1).config).toBe(`${ORIGIN}/custom.json`);

    const bad = parseOptions("#workers=lots&mode=carrier-pigeon&certhash=xyz&broker=ftp://x&autoconnect=perhaps&colour=red", ORIGIN, 2);
    expect(bad.workers).toBe(2);
    expect(bad.mode).toBe("auto");
    expect(bad.certhash).toBeUndefined();
    expect(bad.broker).toBe(ORIGIN);
    expect(bad.autoconnect).toBe(true);
    expect(bad.problems).toHaveLength(6);
  });

  it("builds the WebSocket and WebTransport URLs", () => {
    expect(websocketUrl("http://127.0.0.1:4080", "tab 1")).toBe("ws://127.0.0.1:4080/api/provider/ws?id=tab+1");
    expect(websocketUrl("https://b.example", "x", "t&k")).toBe("wss://b.example/api/provider/ws?id=x&token=t%26k");
    expect(webtransportUrl("https://localhost:4443/transport", "abc", "tok")).toBe("https://localhost:4443/transport?id=abc&token=tok");
  });
});
