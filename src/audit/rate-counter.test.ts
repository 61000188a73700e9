import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { probeEventLoop } from '../kernel/index.test-support.js';
import { createRateCounter, deriveRateCounterLocation } from './index.js';

const key = (k: string, limit: number) => ({ key: k, expiresAt: 10_000, limit });

describe('SQLite rate counters', () => {
  it('counts all keys or none, and never past a limit, across two connections to one file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'custos-rate-')), 'c.sqlite');
    const [a, b] = [await createRateCounter(`sqlite:${file}`), await createRateCounter(`sqlite:${file}`)];
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).take([key('user', 5), key('day', 100)])));
    expect(results.filter((r) => r === null)).toHaveLength(5);
    expect(results.filter((r) => r?.key === 'user')).toHaveLength(15);
    // The day key was counted only for the five allowed calls: a second limit on it still has room for exactly 95.
    const more = await Promise.all(Array.from({ length: 100 }, () => a.take([key('day', 100)])));
    expect(more.filter((r) => r === null)).toHaveLength(95);
    await a.close();
    await b.close();
  });

  it("waits for another connection's write lock on timers (the event loop free), counts once it is released, and fails ERR_AUDIT_UNAVAILABLE past busyTimeoutMs", async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'custos-rate-')), 'c.sqlite');
    const counter = await createRateCounter(`sqlite:${file}`, { busyTimeoutMs: 300 });
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    let started = performance.now();
    const waiting = counter.take([key('user', 5)]);
    const loop = await probeEventLoop(started, 40);
    expect(loop.firstTickMs).toBeLessThan(150); // before: the take slept inside SQLite for the whole 300 ms
    expect(loop.ticks).toBeGreaterThan(3);
    other.exec('COMMIT');
    expect(await waiting).toBeNull();
    other.exec('BEGIN IMMEDIATE');
    started = performance.now();
    await expect(counter.take([key('user', 5)])).rejects.toMatchObject({ code: 'ERR_AUDIT_UNAVAILABLE', cause: { code: 'SQLITE_BUSY' } });
    expect(performance.now() - started).toBeGreaterThanOrEqual(295);
    other.exec('ROLLBACK');
    other.close();
    expect(await Promise.all(Array.from({ length: 5 }, () => counter.take([key('user', 5)])))).toEqual([null, null, null, null, { ...key('user', 5) }]); // one counted before, none by the failed take
    await counter.close();
  });

  it('lives beside a SQLite trail, in the PostgreSQL of a PostgreSQL trail', () => {
    expect(deriveRateCounterLocation('sqlite:/x/audit.sqlite')).toBe('sqlite:/x/audit.counters.sqlite');
    expect(deriveRateCounterLocation('postgres://h/db')).toBe('postgres://h/db');
  });
});
