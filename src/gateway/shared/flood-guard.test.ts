/**
 * Issue 7, defect 5 at the gateway: requests without a verified credential, at every door,
 * are limited per source (429 + Retry-After past the budget) and recorded in aggregate; a
 * request that authenticates is never limited, even from a flooding source.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CustosError } from '../../kernel/index.js';
import type { TokenExchanger } from '../../kernel/index.js';
import { createGateway } from '../gateway.js';
import { startGatewayServer } from '../server.js';
import type { GatewayServer } from '../server.js';
import { createFakePolicy, createManualClock, createTestPipeline, fakeGatewayDeps } from '../fakes.test-support.js';
import type { GatewayDeps } from '../types.js';

const open: GatewayServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

/** Refuses every exchange but `subject_token=good`; writes its own deny row unless quiet. */
function fakeTokens(denyRows: string[]): TokenExchanger {
  return {
    async exchange(form, context) {
      if (form.subject_token === 'good') return { access_token: 'minted', token_type: 'Bearer' };
      if (!context?.quiet) denyRows.push('delegation_subject_token_invalid');
      throw new CustosError('ERR_IDENTITY_DELEGATION_INVALID', 'The subject token does not verify.', {
        detail: { oauth_error: 'invalid_request', reason: 'subject_token_invalid' },
      });
    },
    createBackgroundGrant: () => Promise.reject(new Error('unused')),
    revokeBackgroundGrant: () => Promise.resolve(false),
    jwks: () => ({ keys: [] }),
    metadata: () => ({}),
  };
}

async function start(extra: Partial<GatewayDeps> = {}, burst = 5) {
  const policy = createFakePolicy();
  const { pipeline, audit } = createTestPipeline(policy);
  const clock = createManualClock();
  const denyRows: string[] = [];
  const gateway = createGateway(
    fakeGatewayDeps(pipeline, policy, {
      clock,
      tokens: fakeTokens(denyRows),
      identity: {
        logout: { logout: () => Promise.reject(new CustosError('ERR_IDENTITY_SIGNATURE_INVALID')) },
        admin: { roles: ['admin'], revokeSession: () => Promise.resolve(), revokeUser: () => Promise.resolve() },
      },
      limits: { authFailures: { burst, perMinute: 6, windowMs: 60_000, maxSources: 100 } },
      ...extra,
    }),
  );
  const server = await startGatewayServer(gateway, { host: '127.0.0.1', port: 0 });
  open.push(server);
  return { server, audit, clock, denyRows };
}

type Reply = { status: number; headers: Headers; body: { error?: { code?: string; detail?: Record<string, unknown> } } & Record<string, unknown> };

async function post(
  server: GatewayServer,
  path: string,
  init: { token?: string; headers?: Record<string, string>; body?: string; form?: boolean } = {},
): Promise<Reply> {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': init.form ? 'application/x-www-form-urlencoded' : 'application/json',
      accept: 'application/json, text/event-stream',
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...init.headers,
    },
    body: init.body ?? JSON.stringify({ tool: { server: 'db', name: 'query' }, arguments: {}, agent: { name: 'a' } }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Reply['body']) : {} };
}

describe('floods cost the flooder', () => {
  it('answers 429 with Retry-After and a JSON error past the budget, and writes a bounded number of rows', async () => {
    const { server, audit } = await start();
    const statuses: number[] = [];
    let limited: Reply | undefined;
    for (let i = 0; i < 300; i += 1) {
      const r = await post(server, '/v1/authorize');
      statuses.push(r.status);
      if (r.status === 429) limited ??= r;
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5).every((s) => s === 429)).toBe(true);
    expect(limited?.headers.get('retry-after')).toBe('10');
    expect(limited?.body.error).toMatchObject({ code: 'ERR_GATEWAY_RATE_LIMITED', detail: { retry_after_sec: 10 } });
    expect(audit.rows).toHaveLength(1); // the first failure; the other 299 wait for the window's aggregate row
    await server.close();
    expect(audit.rows).toHaveLength(2);
    expect(audit.rows[1]).toMatchObject({ event: 'auth_failure', detail: { source: '127.0.0.1', aggregate: { count: 299, rate_limited: 295 } } });
  });

  it('never limits a request that authenticates, even from the flooding source', async () => {
    const { server } = await start();
    for (let i = 0; i < 20; i += 1) await post(server, '/v1/authorize', { token: 'forged' });
    expect((await post(server, '/v1/authorize', { token: 'forged' })).status).toBe(429);
    const legit = await post(server, '/v1/authorize', { token: 'alice' });
    expect(legit.status).toBe(200);
    expect(legit.body).toMatchObject({ decision: 'allow' });
    expect((await post(server, '/oauth/token', { form: true, body: 'grant_type=x&subject_token=good' })).status).toBe(200);
  });

  it('earns the budget back over time (injected clock)', async () => {
    const { server, clock } = await start();
    for (let i = 0; i < 6; i += 1) await post(server, '/v1/authorize');
    expect((await post(server, '/v1/authorize')).status).toBe(429);
    clock.advance(10_000);
    expect((await post(server, '/v1/authorize')).status).toBe(401);
    expect((await post(server, '/v1/authorize')).status).toBe(429);
  });

  it('limits every door: /mcp, the admin API, back-channel logout and the token endpoint', async () => {
    const { server, audit, denyRows } = await start({}, 1);
    const doors: Array<[string, Parameters<typeof post>[2]]> = [
      ['/mcp', { body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }) }],
      ['/v1/admin/sessions/revoke', { token: 'forged', body: JSON.stringify({ sub: 'bob' }) }],
      ['/oauth/backchannel-logout', { form: true, body: 'logout_token=forged' }],
      ['/oauth/token', { form: true, body: 'grant_type=x&subject_token=forged' }],
    ];
    expect((await post(server, '/v1/authorize')).status).toBe(401); // the one failure of the budget
    for (const [path, init] of doors) {
      const r = await post(server, path, init);
      expect([path, r.status, r.body.error?.code ?? r.body.error]).toEqual([path, 429, 'ERR_GATEWAY_RATE_LIMITED']);
    }
    expect(denyRows).toEqual([]); // the limited token request wrote no deny row of its own
    expect(audit.rows).toHaveLength(1);
    await server.close();
    expect(audit.rows[1]?.detail).toMatchObject({ aggregate: { count: 4, rate_limited: 4 } });
    expect(audit.rows[1]?.policy.reasons).toEqual(['ERR_IDENTITY_DELEGATION_INVALID', 'ERR_IDENTITY_SIGNATURE_INVALID', 'ERR_IDENTITY_TOKEN_MISSING']);
  });

  it('does not let a client escape its budget by forging X-Forwarded-For', async () => {
    const { server } = await start();
    for (let i = 0; i < 5; i += 1) await post(server, '/v1/authorize', { headers: { 'x-forwarded-for': `203.0.113.${i}` } });
    expect((await post(server, '/v1/authorize', { headers: { 'x-forwarded-for': '198.51.100.1' } })).status).toBe(429);
  });

  it('behind a trusted proxy counts each client apart, so one flooder does not lock out the others', async () => {
    const { server, audit } = await start({ trustedProxies: ['127.0.0.0/8'] });
    const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });
    for (let i = 0; i < 5; i += 1) await post(server, '/v1/authorize', from('203.0.113.66'));
    expect((await post(server, '/v1/authorize', from('203.0.113.66'))).status).toBe(429);
    expect((await post(server, '/v1/authorize', from('198.51.100.1'))).status).toBe(401);
    expect(audit.rows.map((r) => r.detail?.source)).toEqual(['203.0.113.66', '198.51.100.1']);
  });
});
