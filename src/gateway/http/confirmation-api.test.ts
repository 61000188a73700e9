import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../gateway.js';
import { startGatewayServer } from '../server.js';
import type { GatewayServer } from '../server.js';
import { createFakePolicy, createManualClock, createTestPipeline, fakeGatewayDeps, SECRET_MARKER } from '../fakes.test-support.js';

const policy = createFakePolicy([(i) => (i.tool.name === 'wire_money' ? 'confirm' : undefined)]);
const { pipeline, audit } = createTestPipeline(policy);
const clock = createManualClock();
let server: GatewayServer;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests read arbitrary JSON replies
async function post(path: string, body: unknown, token?: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

const wire = (requestId: string) => ({
  tool: { server: 'bank', name: 'wire_money' },
  arguments: { to: `acct ${SECRET_MARKER}` },
  agent: { name: 'my-agent' },
  request_id: requestId,
});
const rowsOf = (requestId: string) => audit.rows.filter((r) => r.request_id === requestId);

beforeAll(async () => {
  const gateway = createGateway(
    fakeGatewayDeps(pipeline, policy, {
      clock,
      limits: { maxBodyBytes: 4096, pendingTtlMs: 60_000 },
    }),
  );
  server = await startGatewayServer(gateway, { host: '127.0.0.1', port: 0 });
});
afterAll(async () => server?.close());

describe('POST /v1/authorize with a confirm decision', () => {
  it('holds the call: a confirm row with channel api, an expires_at, redacted arguments', async () => {
    const res = await post('/v1/authorize', wire('c-hold'), 'alice');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ decision: 'confirm', request_id: 'c-hold', reasons: ['rule_confirm'], arguments: { to: 'acct [redacted:secret]' } });
    expect(Date.parse(res.json.expires_at)).toBe(clock.now().getTime() + 60_000);
    expect(rowsOf('c-hold')).toEqual([
      expect.objectContaining({ event: 'confirm', user: expect.objectContaining({ sub: 'alice' }), confirmation: { status: 'requested', channel: 'api' } }),
    ]);
  });
});

describe('POST /v1/confirmations', () => {
  it('accepted: answers allow, writes the intent row, and the call completes with /v1/results', async () => {
    await post('/v1/authorize', wire('c-accept'), 'alice');
    const res = await post('/v1/confirmations', { request_id: 'c-accept', outcome: 'accepted' }, 'alice');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      decision: 'allow',
      request_id: 'c-accept',
      reasons: ['rule_confirm', 'confirmation_accepted'],
      expires_at: expect.any(String),
    });
    expect((await post('/v1/results', { request_id: 'c-accept', output: 'sent' }, 'alice')).status).toBe(200);
    expect(rowsOf('c-accept').map((r) => [r.event, r.confirmation?.status, r.confirmation?.channel])).toEqual([
      ['confirm', 'requested', 'api'],
      ['intent', 'accepted', 'api'],
      ['result', undefined, undefined],
    ]);
  });

  it('declined: answers deny with confirmation_declined, writes the deny row, leaves nothing to complete or answer again', async () => {
    await post('/v1/authorize', wire('c-decline'), 'alice');
    const res = await post('/v1/confirmations', { request_id: 'c-decline', outcome: 'declined' }, 'alice');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ decision: 'deny', reasons: ['confirmation_declined', 'rule_confirm'] });
    expect(res.json.expires_at).toBeUndefined();
    expect(rowsOf('c-decline').at(-1)).toMatchObject({
      event: 'deny',
      user: { sub: 'alice' },
      policy: { decision: 'deny', reasons: ['confirmation_declined', 'rule_confirm'] },
      confirmation: { status: 'declined', channel: 'api' },
    });
    expect((await post('/v1/results', { request_id: 'c-decline', output: 'x' }, 'alice')).status).toBe(404);
    expect((await post('/v1/confirmations', { request_id: 'c-decline', outcome: 'accepted' }, 'alice')).status).toBe(404);
  });

  it("refuses another user's answer with 403 and an alert row under that user, and keeps the hold for its owner", async () => {
    await post('/v1/authorize', wire('c-foreign'), 'alice');
    const res = await post('/v1/confirmations', { request_id: 'c-foreign', outcome: 'accepted' }, 'bob');
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe('ERR_IDENTITY_SESSION_MISMATCH');
    expect(audit.rows.at(-1)).toMatchObject({
      event: 'alert',
      user: { sub: 'bob' },
      alert: { type: 'confirmation_foreign_user' },
      detail: { request_id: 'c-foreign' },
    });
    expect(rowsOf('c-foreign').map((r) => r.event)).toEqual(['confirm']);
    expect((await post('/v1/confirmations', { request_id: 'c-foreign', outcome: 'declined' }, 'alice')).json.decision).toBe('deny');
  });

  it('refuses a request_id that was not held with 409, and an unknown one with 404', async () => {
    await post('/v1/authorize', { ...wire('c-allowed'), tool: { server: 'db', name: 'query' } }, 'alice');
    const conflict = await post('/v1/confirmations', { request_id: 'c-allowed', outcome: 'accepted' }, 'alice');
    expect(conflict.status).toBe(409);
    expect(conflict.json.error.code).toBe('ERR_GATEWAY_CONFLICT');
    expect(rowsOf('c-allowed').map((r) => r.event)).toEqual(['intent']);
    const unknown = await post('/v1/confirmations', { request_id: 'never-held', outcome: 'accepted' }, 'alice');
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('ERR_GATEWAY_NOT_FOUND');
  });

  it('refuses a missing token with 401 and a bad body with 400', async () => {
    expect((await post('/v1/confirmations', { request_id: 'x', outcome: 'accepted' })).status).toBe(401);
    const bad = await post('/v1/confirmations', { request_id: 'x', outcome: 'yes' }, 'alice');
    expect(bad.status).toBe(400);
    expect(bad.json.error.detail.problems.some((p: string) => p.startsWith('outcome'))).toBe(true);
  });

  it('an expired hold: the late answer is a 404 and the call gets its confirmation_timeout deny row', async () => {
    await post('/v1/authorize', wire('c-late'), 'alice');
    clock.advance(61_000);
    const res = await post('/v1/confirmations', { request_id: 'c-late', outcome: 'accepted' }, 'alice');
    expect(res.status).toBe(404);
    expect(rowsOf('c-late').map((r) => [r.event, r.policy.reasons[0], r.confirmation?.status])).toEqual([
      ['confirm', 'rule_confirm', 'requested'],
      ['deny', 'confirmation_timeout', 'timeout'],
    ]);
    expect(rowsOf('c-late').some((r) => r.event === 'intent')).toBe(false);
  });

  it('an expired hold nobody asks about gets its timeout row when the store is next swept', async () => {
    await post('/v1/authorize', wire('c-swept'), 'alice');
    clock.advance(61_000);
    await post('/v1/authorize', { ...wire('c-other'), tool: { server: 'db', name: 'query' } }, 'alice');
    await new Promise((r) => setTimeout(r, 10));
    expect(rowsOf('c-swept').at(-1)).toMatchObject({
      event: 'deny',
      user: { sub: 'alice' },
      policy: { reasons: ['confirmation_timeout', 'rule_confirm'] },
      confirmation: { status: 'timeout', channel: 'api' },
    });
  });
});
