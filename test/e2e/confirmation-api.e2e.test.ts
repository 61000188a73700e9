/**
 * Confirmations on the decision API end to end (164.312(c)(1)): the quick-start bundle asks a
 * human to confirm move_file for clinicians; the framework holds the call, asks alice in its
 * own UI, and reports her answer with POST /v1/confirmations. Real dev OIDC provider, real
 * Custos, real audit store.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/kernel/index.js';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';
import { post } from './http.js';

describe('confirmations on the decision API', () => {
  let h: Harness;
  let alice: string;
  let bob: string;
  const move = (requestId: string) => ({
    tool: { server: 'filesystem', name: 'move_file' },
    arguments: { source: path.join(h.workspace, 'notes', `${requestId}.md`), destination: path.join(h.workspace, 'notes', `moved-${requestId}.md`) },
    agent: { name: 'framework-agent' },
    request_id: requestId,
  });
  const authorize = (token: string, body: unknown) => post(`${h.custos.url}/v1/authorize`, token, body);
  const confirm = (token: string, requestId: string, outcome: string) => post(`${h.custos.url}/v1/confirmations`, token, { request_id: requestId, outcome });
  const rowsOf = async (requestId: string): Promise<AuditRecord[]> => (await h.auditRecords()).filter((r) => r.request_id === requestId);

  beforeAll(async () => {
    h = await startHarness();
    alice = await h.token('alice');
    bob = await h.token('bob');
  });
  afterAll(async () => h?.close());

  it('holds move_file, and once alice accepts the framework may run it and post the result', async () => {
    const held = await authorize(alice, move('api-accept'));
    expect(held.status).toBe(200);
    expect(held.body).toMatchObject({ decision: 'confirm', request_id: 'api-accept', expires_at: expect.any(String) });
    const accepted = await confirm(alice, 'api-accept', 'accepted');
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ decision: 'allow', request_id: 'api-accept', expires_at: expect.any(String) });
    expect(accepted.body.reasons).toContain('confirmation_accepted');
    expect((await post(`${h.custos.url}/v1/results`, alice, { request_id: 'api-accept', output: { moved: true } })).status).toBe(200);
    const rows = await rowsOf('api-accept');
    expect(rows.map((r) => [r.event, r.policy.decision, r.confirmation?.status, r.confirmation?.channel])).toEqual([
      ['confirm', 'confirm', 'requested', 'api'],
      ['intent', 'allow', 'accepted', 'api'],
      ['result', 'allow', undefined, undefined],
    ]);
    expect(rows.every((r) => r.user.sub === 'alice')).toBe(true);
  });

  it('a declined confirmation denies the call: confirmation_declined under alice, nothing to complete', async () => {
    await authorize(alice, move('api-decline'));
    const declined = await confirm(alice, 'api-decline', 'declined');
    expect(declined.status).toBe(200);
    expect(declined.body).toMatchObject({ decision: 'deny' });
    expect((declined.body.reasons as string[])[0]).toBe('confirmation_declined');
    expect((await post(`${h.custos.url}/v1/results`, alice, { request_id: 'api-decline', output: 'x' })).status).toBe(404);
    expect((await rowsOf('api-decline')).at(-1)).toMatchObject({
      event: 'deny',
      user: { sub: 'alice' },
      policy: { decision: 'deny', reasons: expect.arrayContaining(['confirmation_declined']) },
      confirmation: { status: 'declined', channel: 'api' },
    });
  });

  it("bob cannot answer alice's confirmation: 403, an alert row under bob, and the call stays held", async () => {
    await authorize(alice, move('api-foreign'));
    const stolen = await confirm(bob, 'api-foreign', 'accepted');
    expect(stolen.status).toBe(403);
    expect(stolen.body).toMatchObject({ error: { code: 'ERR_IDENTITY_SESSION_MISMATCH' } });
    const alert = (await h.auditRecords()).filter((r) => r.event === 'alert').at(-1);
    expect(alert).toMatchObject({ user: { sub: 'bob' }, alert: { type: 'confirmation_foreign_user' }, detail: { request_id: 'api-foreign' } });
    expect((await rowsOf('api-foreign')).map((r) => r.event)).toEqual(['confirm']);
    expect((await confirm(alice, 'api-foreign', 'declined')).body.decision).toBe('deny');
  });

  it('an unknown request_id is a 404; an allowed call, not held, is a 409', async () => {
    expect((await confirm(alice, 'api-never', 'accepted')).status).toBe(404);
    const read = await authorize(alice, {
      tool: { server: 'filesystem', name: 'read_text_file' },
      arguments: { path: path.join(h.workspace, 'notes/handbook.md') },
      agent: { name: 'framework-agent' },
      request_id: 'api-read',
    });
    expect(read.body.decision).toBe('allow');
    const conflict = await confirm(alice, 'api-read', 'accepted');
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({ error: { code: 'ERR_GATEWAY_CONFLICT' } });
  });
});
