/**
 * The embedded session store shared with another process (another Custos on the same SQLite
 * file, a `custos` command, an operator's tool): Custos answers its per-call revocation reads
 * from memory while nothing changed, yet a revocation another connection commits is seen at the
 * very next call (PRAGMA data_version), denied with the reason and the user in the trail.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveSessionStoreLocation } from '../../src/identity/index.js';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';
import { post } from './http.js';

describe('the session store shared with another process', () => {
  let h: Harness;
  let other: Database.Database;
  let read: { tool: { server: string; name: string }; arguments: { path: string }; agent: { name: string } };

  beforeAll(async () => {
    h = await startHarness();
    read = {
      tool: { server: 'filesystem', name: 'read_text_file' },
      arguments: { path: path.join(h.workspace, 'notes/handbook.md') },
      agent: { name: 'nightly-job' },
    };
    other = new Database(deriveSessionStoreLocation(h.storeUri).slice('sqlite:'.length));
  });
  afterAll(async () => {
    other?.close();
    await h?.close();
  });

  it('a user or session revoked by another connection is denied at the next call, the row naming her and the reason', async () => {
    const [alice, bob] = await Promise.all([h.token('alice'), h.token('bob')]);
    const client = await h.connect(alice);
    for (let i = 0; i < 3; i++) {
      expect((await post(`${h.custos.url}/v1/authorize`, alice, read)).body).toMatchObject({ decision: 'allow' });
      expect((await client.callTool({ name: 'filesystem__read_text_file', arguments: read.arguments })).isError).toBeFalsy();
    }
    expect((await post(`${h.custos.url}/v1/authorize`, bob, read)).body).toMatchObject({ decision: 'allow' });
    const before = (await h.auditRecords()).at(-1)!.seq;

    other.prepare('INSERT INTO custos_revoked_users (iss, sub, revoked_ms) VALUES (?, ?, ?)').run(h.issuer, 'alice', Date.now());
    expect(await post(`${h.custos.url}/v1/authorize`, alice, read)).toMatchObject({ status: 401, body: { error: { code: 'ERR_IDENTITY_SESSION_REVOKED' } } });
    await expect(client.callTool({ name: 'filesystem__read_text_file', arguments: read.arguments })).rejects.toThrow(/ERR_IDENTITY_SESSION_REVOKED/);
    other.prepare('INSERT INTO custos_revoked_sessions (iss, sid, revoked_ms) VALUES (?, ?, ?)').run(h.issuer, String(decodeJwt(bob).sid), Date.now());
    expect(await post(`${h.custos.url}/v1/authorize`, bob, read)).toMatchObject({ status: 401, body: { error: { code: 'ERR_IDENTITY_SESSION_REVOKED' } } });

    const denies = (await h.auditRecords()).filter((r) => r.seq > before && r.event === 'deny');
    expect(denies.map((r) => [r.user.sub, r.policy.reasons])).toEqual([
      ['alice', ['session_revoked']],
      ['alice', ['session_revoked']],
      ['bob', ['session_revoked']],
    ]);
    for (const row of denies) expect(row.user).toMatchObject({ iss: h.issuer });
  });
});
