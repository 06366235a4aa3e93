import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { contractHeader, renderCpp, renderTs } from "../scripts/gen-contract.mjs";
import { DISCONNECT, ERRORS, LIMITS, PATHS, SUBPROTOCOLS } from "../src/gen/contract";

describe("contract constants (proto/contract/contract.json)", () => {
  it("src/gen/contract.ts is current", () => {
    expect(readFileSync(new URL("../src/gen/contract.ts", import.meta.url), "utf8")).toBe(renderTs());
  });

  it("the committed C++ header is current (regenerate: node scripts/gen-contract.mjs --cpp)", () => {
    expect(readFileSync(contractHeader, "utf8")).toBe(renderCpp());
  });

  it("holds the values both sides have always used", () => {
    expect(PATHS.providerWebSocket).toBe("/api/provider/ws");
    expect(SUBPROTOCOLS).toEqual({ protobuf: "wasimoff_provider_v1_protobuf", json: "wasimoff_provider_v1_json" });
    expect([LIMITS.maxMessageSizeDefault, LIMITS.outputHeadroom]).toEqual([64 * 2 ** 20, 2 ** 20]);
    expect([ERRORS.outputTooLarge, ERRORS.notImplemented]).toEqual(["output too large", "not implemented"]);
    expect(DISCONNECT).toEqual({ code: 1000, reason: "bye!" });
  });

  it("rejects values it cannot map to both languages", () => {
    expect(() => renderTs('{"g": {"x": 1.5}}')).toThrow(/g\.x/);
    expect(() => renderCpp('{"g": 3}')).toThrow(/"g"/);
  });
});
