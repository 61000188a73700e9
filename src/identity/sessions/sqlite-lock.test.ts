/**
 * The embedded session store under another connection's write lock (another Custos process on
 * the same file, a `custos` CLI command, a backup tool): a write waits on timers, the event loop
 * stays free meanwhile, the write completes once the lock is released, and a lock held past
 * `busyTimeoutMs` fails as it always did (ERR_IDENTITY_SESSION_STORE_UNAVAILABLE, 503).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { probeEventLoop } from '../../kernel/index.test-support.js';
import { openSessionStore } from './open-store.js';
import type { SessionStore } from './types.js';

const WAIT_MS = 400;
let dir: string;
let store: SessionStore;
let other: Database.Database;

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'custos-session-lock-'));
  const file = path.join(dir, 'audit.sessions.sqlite');
  store = await openSessionStore(`sqlite:${file}`, { busyTimeoutMs: WAIT_MS });
  other = new Database(file);
  other.pragma('busy_timeout = 0');
});

afterEach(async () => {
  if (other.inTransaction) other.exec('ROLLBACK');
  other.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the SQLite session store while another connection holds the write lock', () => {
  it('waits for the lock without blocking the event loop, then writes once it is released', async () => {
    other.exec('BEGIN IMMEDIATE');
    const started = performance.now();
    const write = store.writeActivity('k', { lastActiveMs: 5 });
    const loop = await probeEventLoop(started, 60);
    // Before: the write slept inside SQLite for the whole busy timeout, and no timer ran meanwhile.
    expect(loop.firstTickMs).toBeLessThan(WAIT_MS / 2);
    expect(loop.ticks).toBeGreaterThan(3);
    other.exec('COMMIT');
    await write;
    expect(performance.now() - started).toBeLessThan(WAIT_MS);
    expect(await store.readActivity('k')).toEqual({ lastActiveMs: 5 });
  });

  it('fails as before (ERR_IDENTITY_SESSION_STORE_UNAVAILABLE) when the lock is held past busyTimeoutMs, and never froze meanwhile', async () => {
    other.exec('BEGIN IMMEDIATE');
    const started = performance.now();
    const outcome = store.revokeSession('https://idp.example', 'sid-1', 1).then(
      () => undefined,
      (err: unknown) => err,
    );
    const loop = await probeEventLoop(started, 50);
    expect(loop.firstTickMs).toBeLessThan(WAIT_MS / 2);
    expect(loop.ticks).toBeGreaterThan(3);
    const err = await outcome;
    expect(err).toMatchObject({ code: 'ERR_IDENTITY_SESSION_STORE_UNAVAILABLE', cause: { code: 'SQLITE_BUSY' } });
    expect(performance.now() - started).toBeGreaterThanOrEqual(WAIT_MS - 5);
    other.exec('ROLLBACK');
    expect(await store.revocation('https://idp.example', 'u', 'sid-1')).toEqual({});
  });

  it('reads without waiting while the lock is held (WAL: a reader does not wait for a writer)', async () => {
    await store.writeActivity('k', { lastActiveMs: 7 });
    other.exec('BEGIN IMMEDIATE');
    other.prepare('UPDATE custos_session_activity SET last_active_ms = 9').run();
    expect(await store.readActivity('k')).toEqual({ lastActiveMs: 7 });
  });
});
