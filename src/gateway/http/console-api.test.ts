import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakePolicy, createTempDir, createTestPipeline, fakeGatewayDeps } from '../fakes.test-support.js';
import { createGateway } from '../gateway.js';
import { startGatewayServer } from '../server.js';
import type { GatewayServer } from '../server.js';
import type { ConsolePort } from '../types.js';

describe('the console routes', () => {
  const { pipeline, audit } = createTestPipeline(createFakePolicy());
  const root = createTempDir();
  const staticDir = path.join(root, 'console');
  let server: GatewayServer;
  const port: ConsolePort = {
    // The fake verifier gives alice the role `admin`, bob none.
    roles: { admin: ['admin'], security: ['security'], auditor: ['auditor'] },
    staticDir,
    client: { issuer: 'https://idp.test', clientId: 'custos-console', scope: 'openid', resource: 'http://127.0.0.1:1/mcp' },
    policy: async () => ({ enforced: { hash: 'h' } }),
    policyVersions: async () => ({ versions: [] }),
    policyDiff: async (from, to) => ({ from, to, files: [] }),
    live: async (minutes) => ({ minutes }),
    verifyRow: async (seq) => ({ seq, chain: { status: 'verified' } }),
  };
  beforeAll(async () => {
    mkdirSync(path.join(staticDir, 'assets'), { recursive: true });
    writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>console</title>');
    writeFileSync(path.join(staticDir, 'assets/app.js'), 'export {};');
    writeFileSync(path.join(root, 'secret.txt'), 'not for the web');
    server = await startGatewayServer(createGateway(fakeGatewayDeps(pipeline, createFakePolicy(), { console: port })), { host: '127.0.0.1', port: 0 });
  });
  afterAll(() => server?.close());

  const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
  const get = (route: string, token?: string) =>
    fetch(`${server.url}${route}`, {
      headers: token ? { authorization: `Bearer ${token}`, traceparent: `00-${TRACE}-00f067aa0ba902b7-01` } : {},
      redirect: 'manual',
    });

  it('serves the app with a strict CSP (scripts and styles from self only, the issuer for the token exchange)', async () => {
    const res = await get('/console/');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<title>console</title>');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("connect-src 'self' https://idp.test");
    expect(csp).not.toContain('unsafe');
    expect((await get('/console/assets/app.js')).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await get('/console')).headers.get('location')).toBe('/console/');
    expect(await (await get('/console/config.json')).json()).toEqual(port.client);
  });

  it('never serves a file outside the built app', async () => {
    for (const route of ['/console/../secret.txt', '/console/%2e%2e/secret.txt', '/console/assets/%2e%2e%2f..%2fsecret.txt', '/console/missing.js'])
      expect((await get(route)).status).toBe(404);
  });

  it('answers a console role, and refuses anyone else with a 403 and a deny row naming the view and the trace', async () => {
    expect(await (await get('/v1/console/me', 'alice')).json()).toEqual({ sub: 'alice', email: null, roles: ['admin'] });
    expect(await (await get('/v1/live?minutes=5', 'alice')).json()).toEqual({ minutes: 5 });
    expect((await get('/v1/live?minutes=0', 'alice')).status).toBe(400);
    expect(await (await get('/v1/audit/verify?seq=3', 'alice')).json()).toMatchObject({ seq: 3, chain: { status: 'verified' } });

    expect(await (await get('/v1/policy/diff?from=a&to=b', 'alice')).json()).toEqual({ from: 'a', to: 'b', files: [] });
    expect((await get('/v1/policy/diff?from=a', 'alice')).status).toBe(400);
    expect(await (await get('/v1/confirmations/pending', 'alice')).json()).toEqual({ scope: { api: 'all_replicas', mcp_elicitation: 'replica' }, pending: [] });
    expect((await get('/v1/confirmations/pending', 'bob')).status).toBe(403);
    expect((await get('/v1/policy/versions', 'bob')).status).toBe(403);
    expect(audit.rows.at(-1)).toMatchObject({ user: { sub: 'bob' }, detail: { action: 'console_read_refused', view: 'policy_versions' } });

    const refused = await get('/v1/policy', 'bob');
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('ERR_IDENTITY_NOT_ENTITLED');
    const row = audit.rows.at(-1)!;
    expect(row).toMatchObject({
      event: 'admin',
      user: { sub: 'bob' },
      policy: { decision: 'deny' },
      trace_id: TRACE,
      detail: { action: 'console_read_refused', view: 'policy' },
    });
    expect((await get('/v1/policy')).status).toBe(401);
  });
});
