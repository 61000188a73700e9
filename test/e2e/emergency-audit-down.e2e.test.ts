/**
 * Break-glass fails closed (164.312(a)(2)(ii), 164.312(b)): when the `emergency_grant_opened`
 * row cannot be written, no grant exists — dana's calls stay denied and nothing waits for review.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMERGENCY_USERS } from './emergency-users.js';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';
import { post } from './http.js';

describe('break-glass with the audit store down', () => {
  let h: Harness;
  let dana: string;
  let carol: string;

  beforeAll(async () => {
    h = await startHarness({ users: EMERGENCY_USERS, busyTimeoutMs: 200 });
    [dana, carol] = await Promise.all([h.token('dana'), h.token('carol')]);
  });
  afterAll(async () => h?.close());

  it('refuses the grant with 503 and leaves no usable grant behind', async () => {
    const locker = new Database(h.storeFile);
    locker.exec('BEGIN EXCLUSIVE');
    let opened: Awaited<ReturnType<typeof post>>;
    try {
      opened = await post(`${h.custos.url}/v1/emergency/grants`, dana, { reason: 'Unconscious patient in ED' });
    } finally {
      locker.exec('ROLLBACK');
      locker.close();
    }
    expect(opened.status).toBe(503);
    expect(opened.body).toMatchObject({ error: { code: 'ERR_AUDIT_UNAVAILABLE' } });

    // the store is back: dana is still not covered, and no grant waits for review
    const note = path.join(h.workspace, 'phi/patient-0001.md');
    const call = await post(`${h.custos.url}/v1/authorize`, dana, {
      tool: { server: 'filesystem', name: 'read_text_file' },
      arguments: { path: note },
      agent: { name: 'ed-assistant' },
    });
    expect(call.body).toMatchObject({ decision: 'deny', reasons: ['phi_requires_clinician'] });
    const deny = (await h.auditRecords()).find((r) => r.request_id === call.body.request_id);
    expect(deny).toMatchObject({ event: 'deny', user: { sub: 'dana' }, policy: { reasons: ['phi_requires_clinician'] } });
    expect(deny?.access).toBeUndefined();
    const reviews = await fetch(`${h.custos.url}/v1/emergency/reviews`, { headers: { authorization: `Bearer ${carol}` } });
    expect(await reviews.json()).toEqual({ reviews: [] });
    expect((await h.auditRecords()).some((r) => r.policy.reasons.includes('emergency_grant_opened'))).toBe(false);
  });
});
