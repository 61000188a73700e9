/**
 * The SQLite session store shared with other connections (another Custos process on the same
 * file, a `custos` command, an operator's tool): a revocation, or a break-glass grant opened,
 * closed or removed there, is seen on the very next check; so is this store's own write; a grant
 * past its expiry is never served. These hold for any per-call read cache put in front of the
 * store's SELECTs (one was measured and not kept: docs/performance.md, issue 8 item 6).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CustosError } from '../../kernel/index.js';
import type { Principal } from '../../kernel/index.js';
import { createEmergencyAccess } from '../emergency/index.js';
import { createSessionGuard } from './session-guard.js';
import { openSqliteSessionStore } from './sqlite-store.js';
import type { EmergencyGrantRow, SessionStore } from './types.js';

const ISS = 'https://idp';
const T0 = Date.parse('2026-03-01T09:00:00Z');
let dir: string;
let file: string;
let store: SessionStore;
/** A second store on the same file: another Custos process. */
let peer: SessionStore;
/** A bare connection to the same file: a `custos` command or an operator's tool. */
let raw: Database.Database;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'custos-read-memo-'));
  file = path.join(dir, 'audit.sessions.sqlite');
  store = openSqliteSessionStore(file);
  peer = openSqliteSessionStore(file);
  raw = new Database(file);
});

afterEach(async () => {
  raw.close();
  await store.close();
  await peer.close();
  rmSync(dir, { recursive: true, force: true });
});

const grant = (o: Partial<EmergencyGrantRow> = {}): EmergencyGrantRow => ({
  id: 'g1',
  iss: ISS,
  sub: 'alice',
  sid: 's1',
  openedMs: T0,
  expiresMs: T0 + 60_000,
  ...o,
});
const alice: Principal = { sub: 'alice', iss: ISS, roles: [], groups: [], sessionId: 's1', issuedAt: T0 / 1000 - 10 };

describe('the SQLite session store shared with other connections', () => {
  it("sees another connection's user and session revocations on the next check", async () => {
    expect(await store.revocation(ISS, 'alice', 's1')).toEqual({});
    expect(await store.revocation(ISS, 'alice', 's1')).toEqual({});
    await peer.revokeUser(ISS, 'alice', T0);
    expect(await store.revocation(ISS, 'alice', 's1')).toEqual({ userRevokedAt: T0 });
    raw.prepare('INSERT INTO custos_revoked_sessions (iss, sid, revoked_ms) VALUES (?, ?, ?)').run(ISS, 's1', T0 + 1);
    expect(await store.revocation(ISS, 'alice', 's1')).toEqual({ userRevokedAt: T0, sessionRevokedAt: T0 + 1 });
    expect(await store.revocation(ISS, 'alice', undefined)).toEqual({ userRevokedAt: T0 });
    // a row removed by hand (an operator undoing a mistaken revocation) is gone at the next check too
    raw.prepare('DELETE FROM custos_revoked_users').run();
    expect(await store.revocation(ISS, 'alice', 's1')).toEqual({ sessionRevokedAt: T0 + 1 });
  });

  it('the session guard refuses a user revoked by another process at her next call', async () => {
    const guard = createSessionGuard({ store, clock: { now: () => new Date(T0) }, idleTimeoutSec: {} });
    await guard.check(alice, 'interactive');
    await guard.check(alice, 'interactive');
    await peer.revokeUser(ISS, 'alice', T0);
    await expect(guard.check(alice, 'interactive')).rejects.toMatchObject({ code: 'ERR_IDENTITY_SESSION_REVOKED' });
    await expect(guard.check(alice, 'interactive')).rejects.toBeInstanceOf(CustosError);
  });

  it('sees its own writes at once ', async () => {
    expect(await store.revocation(ISS, 'bob', undefined)).toEqual({});
    await store.revokeUser(ISS, 'bob', T0);
    expect(await store.revocation(ISS, 'bob', undefined)).toEqual({ userRevokedAt: T0 });
    expect(await store.liveGrantsOf(ISS, 'alice', T0)).toEqual([]);
    await store.putGrant(grant());
    expect((await store.liveGrantsOf(ISS, 'alice', T0)).map((g) => g.id)).toEqual(['g1']);
  });

  it('sees a grant opened, closed or removed by another connection on the next check', async () => {
    expect(await store.liveGrantsOf(ISS, 'alice', T0)).toEqual([]);
    await peer.putGrant(grant());
    expect(await store.liveGrantsOf(ISS, 'alice', T0 + 1)).toEqual([grant()]);
    expect(await peer.closeGrant('g1', 'carol', T0 + 2)).toBe(true);
    expect(await store.liveGrantsOf(ISS, 'alice', T0 + 3)).toEqual([{ ...grant(), closedBy: 'carol', closedMs: T0 + 2 }]);
    raw.prepare('DELETE FROM custos_emergency_grants').run();
    expect(await store.liveGrantsOf(ISS, 'alice', T0 + 4)).toEqual([]);
  });

  it('break-glass: a grant opened through another process covers the next call, and ends at its expiry without any write', async () => {
    let now = T0;
    const access = createEmergencyAccess({
      store,
      clock: { now: () => new Date(now) },
      ids: { newId: () => 'x' },
      roles: [],
      reviewerRoles: [],
      grantTtlSec: 60,
    });
    expect(await access.activeGrant(alice)).toBeUndefined();
    await peer.putGrant(grant({ expiresMs: T0 + 60_000 }));
    expect(await access.activeGrant(alice)).toEqual({ grantId: 'g1' });
    now = T0 + 59_999;
    expect(await access.activeGrant(alice)).toEqual({ grantId: 'g1' });
    now = T0 + 60_000;
    expect(await access.activeGrant(alice)).toBeUndefined();
    // a clock set back re-reads the store rather than trusting a later answer
    now = T0 - 1;
    expect(await store.liveGrantsOf(ISS, 'alice', now)).toEqual([grant()]);
  });
});
