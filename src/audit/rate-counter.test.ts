import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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

  it('lives beside a SQLite trail, in the PostgreSQL of a PostgreSQL trail', () => {
    expect(deriveRateCounterLocation('sqlite:/x/audit.sqlite')).toBe('sqlite:/x/audit.counters.sqlite');
    expect(deriveRateCounterLocation('postgres://h/db')).toBe('postgres://h/db');
  });
});
