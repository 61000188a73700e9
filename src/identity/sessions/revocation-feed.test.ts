import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Revocation } from '../../kernel/index.js';
import { createRevocationFeed } from './revocation-feed.js';
import { createSessionGuard } from './session-guard.js';
import { openSqliteSessionStore } from './sqlite-store.js';

const ISS = 'https://idp';
const store = openSqliteSessionStore(path.join(mkdtempSync(path.join(tmpdir(), 'custos-feed-')), 's.sqlite'));
afterAll(() => store.close());

describe('the revocation feed', () => {
  let now = 10_000;
  const guard = createSessionGuard({ store, clock: { now: () => new Date(now) }, idleTimeoutSec: {} });
  const feed = createRevocationFeed(store);

  it('announces every revocation stored, by sid and by user, until unsubscribed', async () => {
    const seen: Revocation[] = [];
    const stop = feed.onRevoked((r) => seen.push(r));
    const failing = feed.onRevoked(() => {
      throw new Error('a broken listener');
    });
    await guard.revokeSession(ISS, 's1');
    await guard.revokeUser(ISS, 'alice');
    stop();
    failing();
    await guard.revokeUser(ISS, 'bob');
    expect(seen).toEqual([
      { iss: ISS, sid: 's1', atMs: 10_000 },
      { iss: ISS, sub: 'alice', atMs: 10_000 },
    ]);
  });

  it('finds the revocation that ended a long-lived session: one of its sids, or its user revoked at or after it opened', async () => {
    now = 20_000;
    await guard.revokeSession(ISS, 's2');
    await guard.revokeUser(ISS, 'carol');
    expect(await feed.revocationSince({ iss: ISS, sub: 'dave', sessionIds: ['s0', 's2'] }, 0)).toEqual({ iss: ISS, sid: 's2', atMs: 20_000 });
    expect(await feed.revocationSince({ iss: ISS, sub: 'carol', sessionIds: [] }, 20_000)).toEqual({ iss: ISS, sub: 'carol', atMs: 20_000 });
    expect(await feed.revocationSince({ iss: ISS, sub: 'carol', sessionIds: ['s9'] }, 20_001)).toBeUndefined();
    expect(await feed.revocationSince({ iss: 'https://other', sub: 'carol', sessionIds: ['s2'] }, 0)).toBeUndefined();
  });
});
