/** The shared pending authorizations on a real PostgreSQL (two replicas' stores) and on SQLite: single use, expiry, fail closed. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyRegistry, recordKeysOf } from '../keys/index.js';
import { startPostgres } from '../../test/e2e/postgres.js';
import type { TestPostgres } from '../../test/e2e/postgres.js';
import type { Authorization, PendingAuthorizationRow, PendingAuthorizationStore } from '../kernel/index.js';
import { probeEventLoop } from '../kernel/index.test-support.js';
import { createPendingAuthorizationStore } from './index.js';

const T0 = 1_700_000_000_000;
const alice = { sub: 'alice', iss: 'https://idp.example' };

function row(requestId: string, held = false, expiresAt = T0 + 60_000): PendingAuthorizationRow {
  const authorization = {
    call: { requestId, kind: 'tool', tool: { server: 'fs', name: 'read' }, arguments: { path: 'a.md' }, principal: { ...alice, roles: [], groups: [] } },
    decision: { decision: held ? 'confirm' : 'allow', reasons: [], determiningPolicies: [] },
    record: { time: new Date(T0).toISOString() },
  } as unknown as Authorization;
  return { requestId, owner: alice, held, expiresAt, authorization };
}

function contract(name: string, open: () => Promise<[PendingAuthorizationStore, PendingAuthorizationStore]>): void {
  describe(name, () => {
    let a: PendingAuthorizationStore;
    let b: PendingAuthorizationStore;
    beforeAll(async () => {
      [a, b] = await open();
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
    });

    it('stores on one replica what the other reads, refuses a second live row with the id, and round-trips the authorization', async () => {
      expect(await a.put(row('r1'), T0)).toBe(true);
      expect(await b.put(row('r1'), T0)).toBe(false);
      expect(await b.get('r1', T0)).toEqual(row('r1'));
    });

    it('gives a row to one taker only, even when two replicas race, and only to its owner in its state', async () => {
      await a.put(row('r2'), T0);
      expect(await b.take('r2', { ...alice, sub: 'mallory' }, false, T0)).toBeUndefined();
      expect(await b.take('r2', alice, true, T0)).toBeUndefined(); // not held
      const takes = await Promise.all([a, b, a, b].map((s) => s.take('r2', alice, false, T0)));
      expect(takes.filter(Boolean)).toHaveLength(1);
      expect(await a.get('r2', T0)).toBeUndefined();
    });

    it('expires: not readable or takeable after its time, swept once across replicas, and its id reusable', async () => {
      await a.put(row('r3', true, T0 + 1000), T0);
      expect(await b.take('r3', alice, true, T0 + 1000)).toBeUndefined();
      const swept = await Promise.all([a.sweep(T0 + 1000, 100), b.sweep(T0 + 1000, 100)]);
      expect(swept.flat().filter((s) => s.row.requestId === 'r3')).toEqual([{ row: row('r3', true, T0 + 1000), cause: 'expired' }]);
      expect(await a.put(row('r3'), T0 + 2000)).toBe(true);
    });

    it('drops the oldest past the bound, and lists the live rows oldest first', async () => {
      for (const r of (await a.list(0)).map((x) => x.requestId)) await a.take(r, alice, false, 0);
      await a.put(row('o1'), T0 + 1);
      await a.put(row('o2'), T0 + 2);
      await a.put(row('o3'), T0 + 3);
      expect((await b.list(T0)).map((r) => r.requestId)).toEqual(['o1', 'o2', 'o3']);
      expect((await b.sweep(T0, 2)).map((s) => [s.row.requestId, s.cause])).toEqual([
        ['o1', 'bound'],
        ['o2', 'bound'],
      ]);
    });
  });
}

describe('pending authorizations', () => {
  let db: TestPostgres;
  beforeAll(async () => {
    db = await startPostgres();
  }, 60_000);
  afterAll(async () => db?.stop());

  contract('on PostgreSQL (two replicas)', async () => [await createPendingAuthorizationStore(db.url), await createPendingAuthorizationStore(db.url)]);
  contract('on SQLite (two processes of one machine)', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'custos-pending-')), 'counters.sqlite');
    return [await createPendingAuthorizationStore(`sqlite:${file}`), await createPendingAuthorizationStore(`sqlite:${file}`)];
  });

  it("on SQLite, waits for another connection's write lock on timers (the event loop free), writes once it is released, and fails ERR_GATEWAY_PENDING_STORE_UNAVAILABLE past busyTimeoutMs", async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'custos-pending-')), 'counters.sqlite');
    const store = await createPendingAuthorizationStore(`sqlite:${file}`, { busyTimeoutMs: 300 });
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    let started = performance.now();
    const waiting = store.put(row('locked-1'), T0);
    const loop = await probeEventLoop(started, 40);
    expect(loop.firstTickMs).toBeLessThan(150); // before: the put slept inside SQLite for the whole 300 ms
    expect(loop.ticks).toBeGreaterThan(3);
    other.exec('COMMIT');
    expect(await waiting).toBe(true);
    other.exec('BEGIN IMMEDIATE');
    started = performance.now();
    await expect(store.take('locked-1', alice, false, T0)).rejects.toMatchObject({
      code: 'ERR_GATEWAY_PENDING_STORE_UNAVAILABLE',
      cause: { code: 'SQLITE_BUSY' },
    });
    expect(performance.now() - started).toBeGreaterThanOrEqual(295);
    other.exec('ROLLBACK');
    other.close();
    expect(await store.take('locked-1', alice, false, T0)).toEqual(row('locked-1')); // the failed take removed nothing
    await store.close();
  });

  it('seals the body under audit.encryption.key: the arguments are not in the database, and a body moved to another row is refused', async () => {
    const keys = recordKeysOf(createKeyRegistry([{ id: 'k1', use: 'encrypt', material: randomBytes(32).toString('base64') }]), 'k1');
    const store = await createPendingAuthorizationStore(db.url, { keys });
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      await store.put(row('sealed-1'), T0);
      await store.put(row('sealed-2'), T0);
      const { rows } = await admin.query<{ body: string }>("SELECT body FROM custos_pending_authorizations WHERE request_id LIKE 'sealed-%'");
      for (const r of rows) expect(r.body).not.toContain('a.md');
      expect(await store.get('sealed-1', T0)).toEqual(row('sealed-1'));
      await admin.query(
        "UPDATE custos_pending_authorizations SET body = (SELECT body FROM custos_pending_authorizations WHERE request_id = 'sealed-2') WHERE request_id = 'sealed-1'",
      );
      await expect(store.take('sealed-1', alice, false, T0)).rejects.toMatchObject({ code: 'ERR_GATEWAY_PENDING_STORE_UNAVAILABLE' });
      await expect(createPendingAuthorizationStore(db.url).then((plain) => plain.get('sealed-2', T0).finally(() => plain.close()))).rejects.toMatchObject({
        code: 'ERR_GATEWAY_PENDING_STORE_UNAVAILABLE', // sealed, and no key to open it: refused, never read as something else
      });
    } finally {
      await admin.end();
      await store.close();
    }
  });

  it('fails closed with ERR_GATEWAY_PENDING_STORE_UNAVAILABLE while PostgreSQL is down, and works again after', async () => {
    const store = await createPendingAuthorizationStore(db.url);
    try {
      await store.put(row('down'), T0);
      await db.pause();
      try {
        await expect(store.take('down', alice, false, T0)).rejects.toMatchObject({ code: 'ERR_GATEWAY_PENDING_STORE_UNAVAILABLE' });
        await expect(store.get('down', T0)).rejects.toMatchObject({ code: 'ERR_GATEWAY_PENDING_STORE_UNAVAILABLE' });
      } finally {
        await db.resume();
      }
      expect(await store.take('down', alice, false, T0)).toEqual(row('down'));
    } finally {
      await store.close();
    }
  });
});
