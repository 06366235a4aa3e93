import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

function haveWat2wasm(): boolean {
  try {
    execFileSync("wat2wasm", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("test fixtures", () => {
  // The committed wasm.json must match the .wat sources (regenerate: node scripts/wat-fixtures.mjs).
  it.skipIf(!haveWat2wasm())("wasm.json is current", async () => {
    const { compileFixtures } = await import("../scripts/wat-fixtures.mjs");
    const committed = readFileSync(new URL("./fixtures/wasm.json", import.meta.url), "utf8");
    expect(compileFixtures()).toBe(committed);
  });
});
