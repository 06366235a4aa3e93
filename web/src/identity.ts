// Page identity and exclusivity (docs/provider-internals.md §4 "Identity"): a persistent provider
// id, the Web Lock "wasimoff" so that only one tab per browser profile provides, and a screen wake
// lock so a laptop does not sleep while it works.

const ID_KEY = "wasimoff_id";
const ALPHABET = "useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict";

/** A 21-character nanoid-style random id (crypto.getRandomValues works in insecure contexts). */
export function nanoid(size = 21): string {
  const bytes = crypto.getRandomValues(new Uint8Array(size));
  let id = "";
  for (const b of bytes) id += ALPHABET[b & 63];
  return id;
}

/** The stored id, created on first use; an explicit fragment id wins but is not stored. */
export function providerId(explicit?: string): string {
  if (explicit) return explicit;
  try {
    let id = localStorage.getItem(ID_KEY);
    if (!id) {
      id = nanoid();
      localStorage.setItem(ID_KEY, id);
    }
    return id;
  } catch {
    return nanoid(); // storage disabled: a fresh id per page load
  }
}

/**
 * Acquires the Web Lock "wasimoff" for the lifetime of the page. Resolves false when another tab
 * holds it; true when acquired or when the Locks API is missing (then nothing can be checked).
 */
export function acquireTabLock(): Promise<boolean> {
  const locks = navigator.locks;
  if (!locks) return Promise.resolve(true);
  return new Promise((resolve) => {
    locks
      .request("wasimoff", { ifAvailable: true }, (lock) => {
        if (!lock) {
          resolve(false);
          return undefined;
        }
        resolve(true);
        return new Promise<void>(() => {}); // hold until the page goes away
      })
      .catch(() => resolve(true));
  });
}

let wakeLock: WakeLockSentinel | undefined;
let wanted = false;

/** Keeps the screen awake while `on`; re-acquired when the tab becomes visible again. */
export async function setWakeLock(on: boolean, log: (text: string) => void): Promise<void> {
  wanted = on;
  if (!on) {
    await wakeLock?.release().catch(() => {});
    wakeLock = undefined;
    return;
  }
  if (wakeLock || !("wakeLock" in navigator) || document.visibilityState !== "visible") return;
  try {
    wakeLock = await navigator.wakeLock.request("screen");
    wakeLock.addEventListener("release", () => (wakeLock = undefined));
  } catch (e) {
    log(`wake lock not granted: ${e instanceof Error ? e.message : String(e)}`);
  }
}

document.addEventListener("visibilitychange", () => {
  if (wanted && document.visibilityState === "visible") void setWakeLock(true, () => {});
});
