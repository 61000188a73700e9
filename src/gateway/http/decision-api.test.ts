import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../gateway.js';
import { startGatewayServer } from '../server.js';
import type { GatewayServer } from '../server.js';
import { createFakePolicy, createManualClock, createTestPipeline, fakeGatewayDeps, SECRET_MARKER } from '../fakes.test-support.js';
import { CustosError } from '../../kernel/index.js';
import type { PendingAuthorizationStore } from '../../kernel/index.js';
import { createMemoryPendingAuthorizations } from './pending-store.js';

const policy = createFakePolicy([(i) => (i.tool.name === 'drop_table' ? 'deny' : undefined), (i) => (i.tool.name === 'wire_money' ? 'confirm' : undefined)]);
const { pipeline, audit } = createTestPipeline(policy);
const clock = createManualClock();
let server: GatewayServer;
let auditUp = true;
let pendingUp = true;

/** The shared pending store, which a test can take down (every operation then fails as the SQL store's do). */
function createSwitchablePendingStore(): PendingAuthorizationStore {
  const inner = createMemoryPendingAuthorizations();
  const guard =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      pendingUp ? fn(...args) : Promise.reject(new CustosError('ERR_GATEWAY_PENDING_STORE_UNAVAILABLE'));
  return { put: guard(inner.put), get: guard(inner.get), take: guard(inner.take), sweep: guard(inner.sweep), list: guard(inner.list), close: inner.close };
}

async function post(
  path: string,
  body: unknown,
  token?: string,
  headers: Record<string, string> = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests read arbitrary JSON replies
): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, headers: res.headers };
}

const call = (extra: Record<string, unknown> = {}) => ({
  tool: { server: 'db', name: 'query' },
  arguments: { sql: `select 1 -- ${SECRET_MARKER}` },
  agent: { name: 'my-agent', runtime: 'langchain', version: '1.2.3' },
  ...extra,
});

beforeAll(async () => {
  const gateway = createGateway(
    fakeGatewayDeps(pipeline, policy, {
      clock,
      pendingStore: createSwitchablePendingStore(),
      readiness: {
        audit: () => (auditUp ? { state: 'ok' } : { state: 'failing', reason: 'disk_full', since: '2030-01-01T00:00:00.000Z', failedAppends: 2 }),
        issuers: () => [{ issuer: 'https://idp.test' }],
      },
      limits: { maxBodyBytes: 4096, pendingTtlMs: 60_000 },
    }),
  );
  server = await startGatewayServer(gateway, { host: '127.0.0.1', port: 0 });
});
afterAll(async () => server?.close());

describe('the shared pending store down', () => {
  it('refuses authorize and results with 503 ERR_GATEWAY_PENDING_STORE_UNAVAILABLE, never an allow; the authorization survives the outage', async () => {
    expect((await post('/v1/authorize', call({ request_id: 'req-pending-down' }), 'alice')).json.decision).toBe('allow');
    pendingUp = false;
    try {
      const refused = await post('/v1/authorize', call({ request_id: 'req-pending-down-2' }), 'alice');
      expect(refused.status).toBe(503);
      expect(refused.json).toEqual({ error: { code: 'ERR_GATEWAY_PENDING_STORE_UNAVAILABLE', message: expect.stringContaining('nothing is allowed') } });
      const results = await post('/v1/results', { request_id: 'req-pending-down', output: 'x' }, 'alice');
      expect(results.status).toBe(503);
      expect(results.json.error.code).toBe('ERR_GATEWAY_PENDING_STORE_UNAVAILABLE');
    } finally {
      pendingUp = true;
    }
    expect((await post('/v1/results', { request_id: 'req-pending-down', output: 'x' }, 'alice')).status).toBe(200);
    expect((await post('/v1/results', { request_id: 'req-pending-down', output: 'x' }, 'alice')).status).toBe(404); // once
  });
});

describe('POST /v1/authorize', () => {
  it('allows, returning the decision, the policy pins and the redacted arguments', async () => {
    const res = await post('/v1/authorize', call({ request_id: 'req-allow-1' }), 'alice');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      decision: 'allow',
      request_id: 'req-allow-1',
      reasons: [],
      policy: { bundle_hash: 'sha256:test-bundle', determining_policies: ['default'] },
      arguments: { sql: 'select 1 -- [redacted:secret]' },
    });
    const intent = audit.rows.find((r) => r.request_id === 'req-allow-1');
    expect(intent).toMatchObject({ event: 'intent', user: { sub: 'alice' }, agent: { name: 'my-agent', runtime: 'langchain' } });
  });

  it('generates a request_id when none is given', async () => {
    const res = await post('/v1/authorize', call(), 'alice');
    expect(res.json.request_id).toEqual(expect.any(String));
    expect(res.json.request_id.length).toBeGreaterThan(0);
  });

  it('returns a denial as a 200 with decision deny', async () => {
    const res = await post('/v1/authorize', call({ tool: { server: 'db', name: 'drop_table' }, request_id: 'req-deny-1' }), 'bob');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ decision: 'deny', request_id: 'req-deny-1', reasons: ['writes_need_admin'] });
    // a denied call leaves nothing to post results for
    expect((await post('/v1/results', { request_id: 'req-deny-1', output: 'x' }, 'bob')).status).toBe(404);
  });

  it('returns confirm as a 200, held: results are refused until the answer comes', async () => {
    const res = await post('/v1/authorize', call({ tool: { server: 'bank', name: 'wire_money' }, request_id: 'req-confirm-1' }), 'alice');
    expect(res.json).toMatchObject({ decision: 'confirm', request_id: 'req-confirm-1', expires_at: expect.any(String) });
    const early = await post('/v1/results', { request_id: 'req-confirm-1', output: 'x' }, 'alice');
    expect(early.status).toBe(409);
    expect(early.json.error.code).toBe('ERR_GATEWAY_CONFLICT');
  });

  it('denies a declared tier that disagrees with the credential, and records it', async () => {
    const res = await post('/v1/authorize', call({ request_id: 'req-tier-1', agent: { name: 'a', tier: 'background' } }), 'alice');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ decision: 'deny', reasons: ['tier_mismatch'] });
    const [deny, alert] = audit.rows.slice(-2);
    expect(deny).toMatchObject({ event: 'deny', request_id: 'req-tier-1', user: { sub: 'alice' }, policy: { decision: 'deny', reasons: ['tier_mismatch'] } });
    expect(alert).toMatchObject({
      event: 'alert',
      request_id: 'req-tier-1',
      user: { sub: 'alice' },
      alert: { type: 'tier_mismatch', severity: 'high' },
      detail: { declared_tier: 'background' },
    });
  });

  it('refuses a missing or bad token with 401, WWW-Authenticate and an auth_failure row', async () => {
    const before = audit.rows.length;
    const none = await post('/v1/authorize', call());
    expect(none.status).toBe(401);
    expect(none.json.error.code).toBe('ERR_IDENTITY_TOKEN_MISSING');
    expect(none.headers.get('www-authenticate')).toBe('Bearer resource_metadata="http://127.0.0.1:1/.well-known/oauth-protected-resource"');
    const bad = await post('/v1/authorize', call(), 'mallory-token');
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(JSON.stringify(bad.json)).not.toContain('mallory-token');
    const rows = audit.rows.slice(before);
    expect(rows.map((r) => [r.event, r.policy.reasons[0]])).toEqual([
      ['auth_failure', 'ERR_IDENTITY_TOKEN_MISSING'],
      ['auth_failure', 'ERR_IDENTITY_SIGNATURE_INVALID'],
    ]);
  });

  it('refuses an invalid body with 400 listing every problem', async () => {
    const res = await post('/v1/authorize', { tool: { server: 'db' }, agent: { tier: 'superuser' }, arguments: 'x' }, 'alice');
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('ERR_GATEWAY_BAD_REQUEST');
    const problems: string[] = res.json.error.detail.problems;
    expect(problems.some((p) => p.startsWith('tool.name'))).toBe(true);
    expect(problems.some((p) => p.startsWith('agent.name'))).toBe(true);
    expect(problems.some((p) => p.startsWith('agent.tier'))).toBe(true);
    expect(problems.some((p) => p.startsWith('arguments'))).toBe(true);
  });

  it('refuses malformed JSON with 400 and an oversized body with 413', async () => {
    const broken = await post('/v1/authorize', '{"tool": ', 'alice');
    expect(broken.status).toBe(400);
    expect(broken.json.error.code).toBe('ERR_GATEWAY_BAD_REQUEST');
    const big = await post('/v1/authorize', call({ arguments: { blob: 'x'.repeat(10_000) } }), 'alice');
    expect(big.status).toBe(413);
    expect(big.json.error.code).toBe('ERR_GATEWAY_PAYLOAD_TOO_LARGE');
  });

  it('refuses a request_id that is already pending', async () => {
    await post('/v1/authorize', call({ request_id: 'req-dup' }), 'alice');
    const again = await post('/v1/authorize', call({ request_id: 'req-dup' }), 'alice');
    expect(again.status).toBe(409);
  });

  it('answers 503 and keeps nothing pending when the audit store cannot write', async () => {
    audit.failing = true;
    try {
      const res = await post('/v1/authorize', call({ request_id: 'req-audit-down' }), 'alice');
      expect(res.status).toBe(503);
      expect(res.json.error.code).toBe('ERR_AUDIT_UNAVAILABLE');
    } finally {
      audit.failing = false;
    }
    expect((await post('/v1/results', { request_id: 'req-audit-down', output: 1 }, 'alice')).status).toBe(404);
  });
});

describe('POST /v1/results', () => {
  it('keeps the authorization pending when its result row cannot be written, so the result is reported again, once', async () => {
    await post('/v1/authorize', call({ request_id: 'req-res-retry' }), 'alice');
    audit.failing = true;
    try {
      const res = await post('/v1/results', { request_id: 'req-res-retry', output: 'x' }, 'alice');
      expect(res.status).toBe(503);
      expect(res.json.error.code).toBe('ERR_AUDIT_UNAVAILABLE');
    } finally {
      audit.failing = false;
    }
    expect((await post('/v1/results', { request_id: 'req-res-retry', output: 'x' }, 'alice')).status).toBe(200);
    expect((await post('/v1/results', { request_id: 'req-res-retry', output: 'x' }, 'alice')).status).toBe(404);
    expect(audit.rows.filter((r) => r.request_id === 'req-res-retry').map((r) => r.event)).toEqual(['intent', 'result']);
  });

  it('returns the redacted output and records the result row under the same request_id', async () => {
    await post('/v1/authorize', call({ request_id: 'req-res-1' }), 'alice');
    const res = await post('/v1/results', { request_id: 'req-res-1', output: { rows: [`key=${SECRET_MARKER}`, 'plain'] } }, 'alice');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ output: { rows: ['key=[redacted:secret]', 'plain'] }, redactions: { count: 1, types: ['secret'] }, request_id: 'req-res-1' });
    const rows = audit.rows.filter((r) => r.request_id === 'req-res-1');
    expect(rows.map((r) => r.event)).toEqual(['intent', 'result']);
    expect(JSON.stringify(rows)).not.toContain(SECRET_MARKER);
    // results are posted once
    expect((await post('/v1/results', { request_id: 'req-res-1', output: 1 }, 'alice')).status).toBe(404);
  });

  it('records an error outcome', async () => {
    await post('/v1/authorize', call({ request_id: 'req-res-err' }), 'alice');
    const res = await post('/v1/results', { request_id: 'req-res-err', error: 'timeout' }, 'alice');
    expect(res.status).toBe(200);
    expect(res.json.output).toBeNull();
    expect(audit.rows.at(-1)?.output?.error).toBe('timeout');
  });

  it("refuses another user's request with 403 and leaves it pending for its owner", async () => {
    await post('/v1/authorize', call({ request_id: 'req-alice-only' }), 'alice');
    const res = await post('/v1/results', { request_id: 'req-alice-only', output: 'stolen' }, 'bob');
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe('ERR_IDENTITY_SESSION_MISMATCH');
    expect((await post('/v1/results', { request_id: 'req-alice-only', output: 'ok' }, 'alice')).status).toBe(200);
  });

  it('answers 404 for an unknown or expired request_id, 401 without a token, 400 without request_id', async () => {
    expect((await post('/v1/results', { request_id: 'never-seen', output: 1 }, 'alice')).json.error.code).toBe('ERR_GATEWAY_NOT_FOUND');
    await post('/v1/authorize', call({ request_id: 'req-expiring' }), 'alice');
    clock.advance(61_000);
    expect((await post('/v1/results', { request_id: 'req-expiring', output: 1 }, 'alice')).status).toBe(404);
    expect((await post('/v1/results', { request_id: 'x', output: 1 })).status).toBe(401);
    expect((await post('/v1/results', { output: 1 }, 'alice')).status).toBe(400);
    await post('/v1/authorize', call({ request_id: 'req-empty' }), 'alice');
    expect((await post('/v1/results', { request_id: 'req-empty' }, 'alice')).json.error.detail.problems).toEqual(['output: output or error is required']);
  });
});

describe('probes, metadata and routing', () => {
  it('serves /healthz and /readyz (503 when the audit store is down)', async () => {
    expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ready',
      reasons: [],
      checks: { audit: 'ok', sessions: 'unchecked', policy: 'ok', upstreams: [], issuers: [{ issuer: 'https://idp.test' }], sinks: [] },
    });
    auditUp = false;
    try {
      const down = await fetch(`${server.url}/readyz`);
      expect(down.status).toBe(503);
      expect(await down.json()).toMatchObject({
        status: 'not_ready',
        reasons: ['audit_disk_full'],
        checks: { audit: 'failing', auditFailure: { reason: 'disk_full', since: '2030-01-01T00:00:00.000Z', failedAppends: 2 }, policy: 'ok' },
      });
    } finally {
      auditUp = true;
    }
  });

  it('serves RFC 9728 protected resource metadata at both paths', async () => {
    for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        resource: 'http://127.0.0.1:1/mcp',
        authorization_servers: ['https://idp.test'],
        bearer_methods_supported: ['header'],
        scopes_supported: expect.any(Array),
      });
    }
  });

  it('answers 404 with the error shape for unknown routes and methods', async () => {
    const res = await fetch(`${server.url}/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'ERR_GATEWAY_NOT_FOUND', message: expect.any(String) } });
    expect((await fetch(`${server.url}/v1/authorize`)).status).toBe(404);
  });
});
