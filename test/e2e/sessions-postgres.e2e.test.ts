/**
 * Revocations across replicas: two session stores (as two Custos replicas would open) on one
 * real PostgreSQL; a revocation on one reaches the other through LISTEN/NOTIFY within a second.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessionGuard, openSessionStore } from '../../src/identity/index.js';
import type { SessionStore } from '../../src/identity/index.js';
import type { Principal, Revocation } from '../../src/kernel/index.js';
import { startPostgres } from './postgres.js';
import type { TestPostgres } from './postgres.js';

const clock = { now: () => new Date() };
const alice = (sid: string): Principal => ({
  sub: 'alice',
  iss: 'https://idp.example',
  roles: [],
  groups: [],
  sessionId: sid,
  issuedAt: Math.floor(Date.now() / 1000),
});

async function deniedWithin(check: () => Promise<void>, ms: number): Promise<number> {
  const start = Date.now();
  for (;;) {
    try {
      await check();
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_IDENTITY_SESSION_REVOKED') return Date.now() - start;
      throw err;
    }
    if (Date.now() - start > ms) throw new Error(`still admitted after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('session revocation on PostgreSQL (two replicas)', () => {
  let pg: TestPostgres;
  let a: SessionStore;
  let b: SessionStore;

  beforeAll(async () => {
    pg = await startPostgres();
    a = await openSessionStore(pg.url);
    b = await openSessionStore(pg.url);
  }, 60_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await pg?.stop();
  });

  it('a session revoked on replica A is refused on replica B within 1 s', async () => {
    const guardA = createSessionGuard({ store: a, clock, idleTimeoutSec: {} });
    const guardB = createSessionGuard({ store: b, clock, idleTimeoutSec: {} });
    await guardB.check(alice('sid-1'), 'interactive');
    await guardA.revokeSession('https://idp.example', 'sid-1');
    const ms = await deniedWithin(() => guardB.check(alice('sid-1'), 'interactive'), 1000);
    expect(ms).toBeLessThan(1000);
    await expect(guardB.check(alice('sid-2'), 'interactive')).resolves.toBeUndefined();
  });

  it('a user revoked on B is refused on A, and a replica opened later loads every revocation', async () => {
    const guardA = createSessionGuard({ store: a, clock, idleTimeoutSec: {} });
    const guardB = createSessionGuard({ store: b, clock, idleTimeoutSec: {} });
    const token = alice('sid-3');
    await guardB.revokeUser('https://idp.example', 'alice');
    expect(await deniedWithin(() => guardA.check(token, 'interactive'), 1000)).toBeLessThan(1000);
    const c = await openSessionStore(pg.url);
    try {
      const guardC = createSessionGuard({ store: c, clock, idleTimeoutSec: {} });
      await expect(guardC.check(alice('sid-1'), 'interactive')).rejects.toMatchObject({ code: 'ERR_IDENTITY_SESSION_REVOKED' });
    } finally {
      await c.close();
    }
  });

  it("announces a revocation on replica A to replica B's listeners once (its MCP sessions end there), and to A's own once", async () => {
    const onA: Revocation[] = [];
    const onB: Revocation[] = [];
    const stopA = a.onRevoked((r) => onA.push(r));
    const stopB = b.onRevoked((r) => onB.push(r));
    try {
      const guardA = createSessionGuard({ store: a, clock, idleTimeoutSec: {} });
      await guardA.revokeSession('https://idp.example', 'sid-9');
      const start = Date.now();
      while (onB.length === 0 && Date.now() - start < 5000) await new Promise((r) => setTimeout(r, 10));
      expect(onB).toEqual([{ iss: 'https://idp.example', sid: 'sid-9', atMs: expect.any(Number) }]);
      await new Promise((r) => setTimeout(r, 200)); // A's own NOTIFY comes back to A: not announced twice
      expect(onA).toEqual(onB);
    } finally {
      stopA();
      stopB();
    }
  });

  it('keeps pushing revocations after PostgreSQL is stopped and started again (the listener retries until the server is back)', async () => {
    const onB: Revocation[] = [];
    const stopB = b.onRevoked((r) => onB.push(r));
    try {
      await pg.pause();
      // Long enough for at least one reconnect attempt to fail while the server is away.
      await new Promise((r) => setTimeout(r, 2500));
      await pg.resume();
      const guardA = createSessionGuard({ store: a, clock, idleTimeoutSec: {} });
      const start = Date.now();
      for (;;) {
        try {
          await guardA.revokeSession('https://idp.example', 'sid-after-restart');
          break;
        } catch (err) {
          if (Date.now() - start > 30_000) throw err; // the pool reconnects on its next query
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const sent = Date.now();
      while (!onB.some((r) => 'sid' in r && r.sid === 'sid-after-restart') && Date.now() - sent < 30_000) await new Promise((r) => setTimeout(r, 20));
      expect(onB).toContainEqual({ iss: 'https://idp.example', sid: 'sid-after-restart', atMs: expect.any(Number) });
    } finally {
      stopB();
    }
  }, 90_000);

  it('shares break-glass grants and logout jtis between replicas', async () => {
    await a.putGrant({ id: 'g1', iss: 'https://idp.example', sub: 'dana', openedMs: 1, expiresMs: 2 });
    expect(await b.getGrant('g1')).toMatchObject({ id: 'g1', sub: 'dana' });
    expect(await b.closeGrant('g1', 'carol', 3)).toBe(true);
    expect(await a.closeGrant('g1', 'erin', 4)).toBe(false);
    expect(await a.rememberJti('https://idp.example', 'j1', Date.now() + 60_000)).toBe(true);
    expect(await b.rememberJti('https://idp.example', 'j1', Date.now() + 60_000)).toBe(false);
  });
});
