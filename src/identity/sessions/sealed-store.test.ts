/**
 * The session store sealed under the trail's registry key (issue 10): identifiers never in
 * clear on disk, every operation as before; without the key, with another key under the id,
 * with a changed row, or over a store written in clear, opening or reading fails closed,
 * naming the key id.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Revocation } from '../../kernel/index.js';
import { createKeyRegistry, recordKeysOf } from '../../keys/index.js';
import { openSessionStore } from './open-store.js';
import type { SessionStore } from './types.js';

const ISS = 'https://idp.example.com';
const material = (): string => randomBytes(32).toString('base64');

describe('sealed session store', () => {
  let dir: string;
  let file: string;
  let store: SessionStore | undefined;
  const k1 = material();
  const keysOf = (entries: Array<[string, string]>, active?: string) =>
    recordKeysOf(createKeyRegistry(entries.map(([id, m]) => ({ id, use: 'encrypt' as const, material: m }))), active);
  const open = (keys?: ReturnType<typeof keysOf>) => openSessionStore(`sqlite:${file}`, keys ? { keys } : {});

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'custos-sealed-sessions-'));
    file = path.join(dir, 'sessions.sqlite');
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function seed(s: SessionStore): Promise<void> {
    await s.revokeSession(ISS, 'sid-alice-7', 1000);
    await s.revokeUser(ISS, 'patient-alice', 2000);
    await s.writeActivity(`${ISS}\nsid-bob-3`, { lastActiveMs: 5 });
    await s.putGrant({ id: 'g1', iss: ISS, sub: 'dr-carol', sid: 'sid-carol-1', openedMs: 10, expiresMs: 10_000 });
    await s.closeGrant('g1', 'reviewer-dave', 20);
    await s.putBackgroundGrant({ grantId: 'b1', iss: ISS, sub: 'nurse-erin', clientId: 'agent', scope: ['fs:read-secret'], expiresAt: 99, revoked: false }, 0);
  }

  it('keeps every identifier sealed on disk and answers as the clear store does', async () => {
    store = await open(keysOf([['k1', k1]], 'k1'));
    const heard: Revocation[] = [];
    store.onRevoked((r) => heard.push(r));
    await seed(store);
    expect(heard).toEqual([
      { iss: ISS, sid: 'sid-alice-7', atMs: 1000 },
      { iss: ISS, sub: 'patient-alice', atMs: 2000 },
    ]);
    expect(await store.revocation(ISS, 'patient-alice', 'sid-alice-7')).toEqual({ sessionRevokedAt: 1000, userRevokedAt: 2000 });
    expect(await store.revocation(ISS, 'patient-bob', 'sid-bob-3')).toEqual({});
    expect(await store.readActivity(`${ISS}\nsid-bob-3`)).toEqual({ lastActiveMs: 5 });
    expect(await store.listGrants()).toEqual([
      { id: 'g1', iss: ISS, sub: 'dr-carol', sid: 'sid-carol-1', openedMs: 10, expiresMs: 10_000, closedBy: 'reviewer-dave', closedMs: 20 },
    ]);
    expect((await store.liveGrantsOf(ISS, 'dr-carol', 0)).map((g) => g.id)).toEqual(['g1']);
    expect(await store.getBackgroundGrant('b1')).toMatchObject({ sub: 'nurse-erin', scope: ['fs:read-secret'] });
    expect(await store.revokeBackgroundGrant('b1', { iss: ISS, sub: 'nurse-erin' })).toBe(true);
    await store.close();
    store = undefined;
    const bytes = Buffer.concat([readFileSync(file), readFileSync(`${file}-wal`, { flag: 'a+' })]).toString('latin1');
    for (const clear of ['sid-alice-7', 'patient-alice', 'sid-bob-3', 'dr-carol', 'sid-carol-1', 'reviewer-dave', 'nurse-erin', 'fs:read-secret'])
      expect(bytes).not.toContain(clear);
  });

  it('refuses a sealed store without keys, naming the key id', async () => {
    store = await open(keysOf([['k1', k1]], 'k1'));
    await seed(store);
    await store.close();
    store = undefined;
    await expect(open()).rejects.toMatchObject({ code: 'ERR_CONFIG_INVALID', message: expect.stringContaining('sealed under key "k1"') });
    await expect(open(keysOf([['k2', material()]], 'k2'))).rejects.toMatchObject({
      code: 'ERR_KEY_UNKNOWN',
      message: expect.stringContaining('"k1"'),
    });
  });

  it('refuses another key registered under the same id, naming it', async () => {
    store = await open(keysOf([['k1', k1]], 'k1'));
    await seed(store);
    await store.close();
    store = undefined;
    await expect(open(keysOf([['k1', material()]], 'k1'))).rejects.toMatchObject({
      code: 'ERR_KEY_INVALID',
      message: expect.stringContaining('does not unwrap under key "k1"'),
    });
  });

  it('a changed value fails its read, naming the key; it is never taken as absent', async () => {
    store = await open(keysOf([['k1', k1]], 'k1'));
    await seed(store);
    await store.close();
    const db = new Database(file);
    const row = db.prepare('SELECT sub FROM custos_emergency_grants').get() as { sub: string };
    db.prepare('UPDATE custos_emergency_grants SET sub = ?').run(`s1:${Buffer.from('x'.repeat(40)).toString('base64')}`);
    expect(row.sub.startsWith('s1:')).toBe(true);
    db.close();
    store = await open(keysOf([['k1', k1]], 'k1'));
    await expect(store.listGrants()).rejects.toMatchObject({ code: 'ERR_KEY_INVALID', message: expect.stringContaining('key "k1"') });
  });

  it('rotation rewraps the data key: the new key alone opens the store afterwards', async () => {
    store = await open(keysOf([['k1', k1]], 'k1'));
    await seed(store);
    await store.close();
    const k2 = material();
    store = await open(
      keysOf(
        [
          ['k1', k1],
          ['k2', k2],
        ],
        'k2',
      ),
    );
    await store.close();
    store = await open(keysOf([['k2', k2]], 'k2'));
    expect(await store.revocation(ISS, 'patient-alice', undefined)).toEqual({ userRevokedAt: 2000 });
  });

  it('refuses to seal a store that already holds rows in clear', async () => {
    store = await open();
    await seed(store);
    await store.close();
    store = undefined;
    await expect(open(keysOf([['k1', k1]], 'k1'))).rejects.toMatchObject({
      code: 'ERR_CONFIG_INVALID',
      message: expect.stringContaining('rows written in clear'),
    });
    store = await open(); // still readable in clear
    expect(await store.revocation(ISS, 'patient-alice', undefined)).toEqual({ userRevokedAt: 2000 });
  });
});
