import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../kernel/index.js';
import { createSessionGuard } from './session-guard.js';
import { openSqliteSessionStore } from './sqlite-store.js';
import type { SessionStore } from './types.js';

const T0 = Date.parse('2026-03-01T09:00:00Z');
const dirs: string[] = [];
const stores: SessionStore[] = [];

function setup(idle = 900) {
  const dir = mkdtempSync(path.join(tmpdir(), 'custos-sessions-'));
  dirs.push(dir);
  const file = path.join(dir, 'sessions.sqlite');
  const store = openSqliteSessionStore(file);
  stores.push(store);
  let now = T0;
  const clock = { now: () => new Date(now) };
  const guard = createSessionGuard({ store, clock, idleTimeoutSec: { interactive: idle, background: 0 } });
  return { guard, store, file, advance: (ms: number) => (now += ms), at: () => now };
}

const alice = (o: Partial<Principal> = {}): Principal => ({
  sub: 'alice',
  iss: 'https://idp',
  roles: [],
  groups: [],
  sessionId: 's1',
  issuedAt: T0 / 1000,
  ...o,
});

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function admit(guard: ReturnType<typeof setup>['guard'], p: Principal, tier: 'interactive' | 'background' = 'interactive'): Promise<void> {
  await guard.check(p, tier);
  await guard.touch(p, tier);
}

describe('session guard: revocation', () => {
  it('refuses every token of a revoked sid, whatever its iat, and leaves other sessions alone', async () => {
    const { guard, advance, at } = setup();
    await admit(guard, alice());
    await guard.revokeSession('https://idp', 's1');
    advance(1000);
    await expect(guard.check(alice({ issuedAt: at() / 1000 }), 'interactive')).rejects.toMatchObject({ code: 'ERR_IDENTITY_SESSION_REVOKED' });
    await expect(guard.check(alice({ sessionId: 's2' }), 'interactive')).resolves.toBeUndefined();
    await expect(guard.check(alice({ iss: 'https://other' }), 'interactive')).resolves.toBeUndefined();
  });

  it('revoking a user refuses tokens issued before, and accepts a later sign-in', async () => {
    const { guard, advance, at } = setup();
    await guard.revokeUser('https://idp', 'alice');
    await expect(guard.check(alice(), 'interactive')).rejects.toMatchObject({ code: 'ERR_IDENTITY_SESSION_REVOKED' });
    await expect(guard.check(alice({ sessionId: undefined, issuedAt: undefined }), 'background')).rejects.toMatchObject({
      code: 'ERR_IDENTITY_SESSION_REVOKED',
    });
    advance(2000);
    await expect(guard.check(alice({ sessionId: 's9', issuedAt: at() / 1000 }), 'interactive')).resolves.toBeUndefined();
  });

  it('keeps revocations across a restart (the SQLite file)', async () => {
    const { guard, file, store } = setup();
    await guard.revokeSession('https://idp', 's1');
    await store.close();
    const reopened = openSqliteSessionStore(file);
    stores.push(reopened);
    const again = createSessionGuard({ store: reopened, clock: { now: () => new Date(T0) }, idleTimeoutSec: {} });
    await expect(again.check(alice(), 'interactive')).rejects.toMatchObject({ code: 'ERR_IDENTITY_SESSION_REVOKED' });
  });
});

describe('session guard: no user', () => {
  it('refuses a service credential (sub = client_id) and admits user tokens, an API client acting for a user included', async () => {
    const { guard } = setup();
    const service = alice({ sub: 'billing-api', clientId: 'billing-api', sessionId: undefined });
    await expect(guard.check(service, 'api')).rejects.toMatchObject({ code: 'ERR_IDENTITY_CLIENT_NOT_INTERACTIVE' });
    await expect(guard.check(alice({ credential: 'client', clientId: 'billing-api', actors: ['billing-api'] }), 'api')).resolves.toBeUndefined();
    await expect(guard.check(alice({ clientId: 'custos-cli' }), 'interactive')).resolves.toBeUndefined();
  });
});

describe('session guard: automatic logoff (injected clock)', () => {
  it('logs an interactive session off after 15 idle minutes, until a token issued after the logoff', async () => {
    const { guard, advance, at } = setup();
    await admit(guard, alice());
    advance(14 * 60_000);
    await admit(guard, alice()); // activity inside the window keeps it alive
    advance(15 * 60_000 + 1);
    await expect(guard.check(alice(), 'interactive')).rejects.toMatchObject({ code: 'ERR_IDENTITY_SESSION_IDLE' });
    advance(60 * 60_000);
    // still refused for the old token, even after more time
    await expect(guard.check(alice(), 'interactive')).rejects.toMatchObject({ code: 'ERR_IDENTITY_SESSION_IDLE' });
    // a token issued before the logoff moment (T0 + 29 min) is refused too
    await expect(guard.check(alice({ issuedAt: (T0 + 20 * 60_000) / 1000 }), 'interactive')).rejects.toMatchObject({ code: 'ERR_IDENTITY_SESSION_IDLE' });
    const fresh = alice({ issuedAt: at() / 1000 });
    await admit(guard, fresh);
    advance(10 * 60_000);
    await expect(guard.check(fresh, 'interactive')).resolves.toBeUndefined();
  });

  it('counts the token iat as activity: an unused token older than the timeout is idle', async () => {
    const { guard, advance } = setup();
    advance(16 * 60_000);
    await expect(guard.check(alice(), 'interactive')).rejects.toMatchObject({ code: 'ERR_IDENTITY_SESSION_IDLE' });
  });

  it('never logs off a tier whose timeout is 0', async () => {
    const { guard, advance } = setup();
    await admit(guard, alice(), 'background');
    advance(24 * 3600_000);
    await expect(guard.check(alice(), 'background')).resolves.toBeUndefined();
  });

  it('trusts the store over a stale local view (another replica saw the session)', async () => {
    const { guard, store, advance, at } = setup();
    await admit(guard, alice());
    advance(16 * 60_000);
    await store.writeActivity('https://idp\nsid:s1', { lastActiveMs: at() - 60_000 });
    await expect(guard.check(alice(), 'interactive')).resolves.toBeUndefined();
  });
});
