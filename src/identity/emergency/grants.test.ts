import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../kernel/index.js';
import { openSqliteSessionStore } from '../sessions/sqlite-store.js';
import { createEmergencyAccess } from './grants.js';

const store = openSqliteSessionStore(path.join(mkdtempSync(path.join(tmpdir(), 'custos-grants-')), 'sessions.sqlite'));
afterAll(async () => store.close());
let n = 0;
const access = createEmergencyAccess({
  store,
  clock: { now: () => new Date() },
  ids: { newId: () => `grant-${++n}` },
  roles: ['break-glass'],
  reviewerRoles: ['custos-admin'],
  grantTtlSec: 3600,
});
const dana: Principal = { sub: 'dana', iss: 'https://idp.test', roles: ['break-glass'], groups: [], sessionId: 'sid-1' };

describe('opening a grant (fail closed)', () => {
  it('records first, with the id the grant will have, then stores it', async () => {
    const recorded: string[] = [];
    const grant = await access.open(dana, 'ED', async (g) => {
      recorded.push(g.id);
      expect(await store.getGrant(g.id)).toBeUndefined();
    });
    expect(recorded).toEqual([grant.id]);
    expect(await access.activeGrant(dana)).toEqual({ grantId: grant.id });
  });

  it('stores nothing when the record cannot be written', async () => {
    const before = (await store.listGrants()).length;
    const failing = async (): Promise<void> => {
      throw new Error('audit down');
    };
    await expect(access.open({ ...dana, sessionId: 'sid-2' }, 'ED', failing)).rejects.toThrow('audit down');
    expect(await store.listGrants()).toHaveLength(before);
    expect(await access.activeGrant({ ...dana, sessionId: 'sid-2' })).toBeUndefined();
  });
});
