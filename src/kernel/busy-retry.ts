/**
 * Waiting for a store's lock without blocking the event loop. better-sqlite3 runs statements
 * synchronously: with `busy_timeout` > 0 a statement that meets another connection's write lock
 * sleeps inside SQLite, and the whole process (every other request, `/healthz`) sleeps with it.
 * A store that runs on the main thread sets `busy_timeout = 0` and passes each statement that can
 * meet the lock through `retryWhileBusy`: the first try runs at once (no timer, no extra tick when
 * the lock is free); while it fails busy, it is tried again after 2 ms, doubling to 50 ms
 * (`setTimeout`, never a synchronous sleep), until `waitMs` after the first try met the lock (as SQLite's own busy handler counts); then the last
 * busy error is thrown, as the statement would have thrown it after SQLite's own wait.
 */

/** SQLite's "another connection holds the lock" errors (better-sqlite3's `code`: SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT, SQLITE_LOCKED, …). */
export function isStoreBusy(err: unknown): boolean {
  return /^SQLITE_(BUSY|LOCKED)/.test(String((err as { code?: unknown } | null)?.code ?? ''));
}

const FIRST_PAUSE_MS = 2;
const LONGEST_PAUSE_MS = 50;

/** Runs `op` now; its value, or (only when the lock was met) a promise of it after the retries. Any error but busy is thrown at once. */
export function retryWhileBusy<T>(op: () => T, waitMs: number, now: () => number = Date.now): T | Promise<T> {
  try {
    return op();
  } catch (err) {
    if (!isStoreBusy(err) || waitMs <= 0) throw err;
    return retryLater(op, now() + waitMs, now);
  }
}

async function retryLater<T>(op: () => T, deadline: number, now: () => number): Promise<T> {
  for (let pause = FIRST_PAUSE_MS; ; pause = Math.min(pause * 2, LONGEST_PAUSE_MS)) {
    const left = deadline - now();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(pause, left))));
    try {
      return op();
    } catch (err) {
      if (!isStoreBusy(err) || now() >= deadline) throw err;
    }
  }
}
