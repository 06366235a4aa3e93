// Vite builds the page into a static directory (the Broker's WASIMOFF_STATIC_FILES); vitest runs
// the unit tests in test/ under Node.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import vue from "@vitejs/plugin-vue";
import { defineConfig } from "vitest/config";

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8")) as { version: string };
  try {
    const rev = execFileSync("git", ["rev-parse", "--short", "HEAD"], { stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .trim();
    return `${pkg.version}+${rev}`;
  } catch {
    return pkg.version;
  }
}

const isolation = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
};

export default defineConfig({
  plugins: [vue()],
  define: { __APP_VERSION__: JSON.stringify(version()) },
  base: "/",
  build: {
    target: "es2022",
    sourcemap: true,
    emptyOutDir: true,
    chunkSizeWarningLimit: 1024,
  },
  worker: { format: "es" },
  // `npm run dev` / `vite preview` must be cross-origin isolated like the Broker's static server.
  server: { headers: isolation },
  preview: { headers: isolation },
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    testTimeout: 20_000,
  },
});
