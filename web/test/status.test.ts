import { describe, expect, it } from "vitest";
import { CODES, isCode, isModuleRefusal, statusFromWire } from "../src/lib/status";

describe("status codes (src/common/status.h)", () => {
  it("lists the 16 Connect failure codes in gRPC order, without ok", () => {
    // status.cc's kNames without "ok": index + 1 is the numeric code.
    expect(CODES).toHaveLength(16);
    expect(CODES[0]).toBe("canceled");
    expect(CODES[4]).toBe("not_found"); // numeric code 5
    expect(CODES[15]).toBe("unauthenticated");
    expect(isCode("not_found")).toBe(true);
    for (const bad of ["ok", "", "NOT_FOUND", "notfound", " not_found", "5"]) expect(isCode(bad)).toBe(false);
  });

  it("recognises the module refusals of both providers", () => {
    expect(isModuleRefusal("unsupported module: no exported function _start")).toBe(true);
    expect(isModuleRefusal("CompileError: WebAssembly.Module(): expected magic word")).toBe(true);
    expect(isModuleRefusal("LinkError: import object field 'x' is not a Function")).toBe(true);
    expect(isModuleRefusal("trap: unreachable executed")).toBe(false);
    expect(isModuleRefusal("RuntimeError: CompileError: x")).toBe(false);
  });
});

describe("statusFromWire (protocol.md §3.3, mirrors C++ status_from_wire)", () => {
  // [code, message, expected code]
  const table: [string | undefined, string, string][] = [
    // A known code other than "unknown" wins over any text.
    ["not_found", "file not found in storage: sha256:00", "not_found"],
    ["unavailable", "binary not found in storage: sha256:00", "unavailable"],
    ["invalid_argument", "not implemented", "invalid_argument"],
    ["internal", "timeout: no response within 10 s", "internal"],
    ["canceled", "output too large", "canceled"],
    ["data_loss", "CompileError: x", "data_loss"],
    ["unauthenticated", "x", "unauthenticated"],
    // Absent, empty, "unknown", "ok" or unrecognised codes: the reference's texts decide.
    [undefined, "not implemented", "unimplemented"],
    [undefined, "not implemented yet", "unimplemented"],
    ["", "not implemented", "unimplemented"],
    ["unknown", "not implemented", "unimplemented"],
    ["ok", "not implemented", "unimplemented"],
    ["NOT_FOUND", "not implemented", "unimplemented"],
    ["bogus", "timeout: no response within 10 s", "deadline_exceeded"],
    [undefined, "timeout", "deadline_exceeded"],
    [undefined, "output too large", "resource_exhausted"],
    [undefined, "output too large: 70 MB", "resource_exhausted"],
    [undefined, "unsupported module: task has no binary", "failed_precondition"],
    [undefined, "CompileError: WebAssembly.Module(): expected magic word", "failed_precondition"],
    ["unknown", "LinkError: import object field 'x' is not a Function", "failed_precondition"],
    // Prefixes only, case-sensitive; everything else is unknown.
    [undefined, "Not implemented", "unknown"],
    [undefined, "request timeout", "unknown"],
    [undefined, "the output too large", "unknown"],
    [undefined, "compileError: x", "unknown"],
    [undefined, "binary not found in storage: sha256:00", "unknown"],
    [undefined, "hash mismatch", "unknown"],
    ["unknown", "boom", "unknown"],
    [undefined, "", "unknown"],
  ];
  for (const [code, message, want] of table) {
    it(`code ${JSON.stringify(code)}, text ${JSON.stringify(message)} → ${want}`, () => {
      expect(statusFromWire(code, message)).toEqual({ code: want, message });
    });
  }
});
