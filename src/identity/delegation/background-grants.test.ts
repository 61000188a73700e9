import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMemoryGrantRegistry, createStoreGrantRegistry } from './background-grants.js';
import type { GrantRecord } from './background-grants.js';
import { openSqliteSessionStore } from '../sessions/sqlite-store.js';

const NOW_MS = Date.parse('2026-06-01T00:00:00Z');
const clock = (): number => NOW_MS;
const ALICE = { sub: 'alice', iss: 'https://idp.test' };
const grant = (grantId: string, extra: Partial<GrantRecord> = {}): GrantRecord => ({
  grantId,
  ...ALICE,
  clientId: 'nightly-runner',
  scope: ['mcp'],
  expiresAt: NOW_MS / 1000 + 3600,
  revoked: false,
  ...extra,
});

describe('background grants in the session store', () => {
  it('survive closing and reopening the store; a revoked one stays revoked', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'custos-bg-')), 'sessions.sqlite');
    const first = openSqliteSessionStore(file);
    const before = createStoreGrantRegistry(first, { clock });
    await before.add(grant('g-live'));
    await before.add(grant('g-revoked', { scope: undefined }));
    expect(await before.revoke('g-revoked', { sub: 'bob', iss: ALICE.iss })).toBe(false);
    expect(await before.revoke('g-revoked', ALICE)).toBe(true);
    await first.close();

    const second = openSqliteSessionStore(file);
    try {
      const after = createStoreGrantRegistry(second, { clock });
      expect(await after.get('g-live')).toEqual(grant('g-live'));
      const revoked = await after.get('g-revoked');
      expect(revoked).toMatchObject({ grantId: 'g-revoked', revoked: true });
      expect(revoked?.scope).toBeUndefined();
      expect(await after.get('g-unknown')).toBeUndefined();
      expect(await after.revoke('g-unknown', ALICE)).toBe(false);
    } finally {
      await second.close();
    }
  });

  it('refuses an expired grant and purges it on the next add', async () => {
    const store = openSqliteSessionStore(path.join(mkdtempSync(path.join(tmpdir(), 'custos-bg-')), 'sessions.sqlite'));
    try {
      const registry = createStoreGrantRegistry(store, { clock });
      await registry.add(grant('g-old', { expiresAt: NOW_MS / 1000 - 1 }));
      expect(await registry.get('g-old')).toBeUndefined();
      await registry.add(grant('g-new'));
      expect(await store.getBackgroundGrant('g-old')).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('the memory registry keeps the same contract', async () => {
    const registry = createMemoryGrantRegistry({ clock });
    await registry.add(grant('g-1'));
    expect(await registry.revoke('g-1', { sub: 'bob', iss: ALICE.iss })).toBe(false);
    expect(await registry.revoke('g-1', ALICE)).toBe(true);
    expect(await registry.get('g-1')).toMatchObject({ revoked: true });
  });
});
