import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustosError } from '../../kernel/index.js';
import type { LogoutPort } from '../../kernel/index.js';
import { createFakePolicy, createSilentLogger, createTestPipeline, expectStoreDown, fakeGatewayDeps } from '../fakes.test-support.js';
import { createGateway } from '../gateway.js';
import { startGatewayServer } from '../server.js';
import type { GatewayServer } from '../server.js';

/** POST /oauth/backchannel-logout while a store is down: a 503 the IdP may retry, never "the token is not valid". */
describe('back-channel logout with a store down', () => {
  const { pipeline, audit } = createTestPipeline(createFakePolicy());
  const logger = createSilentLogger();
  let failure: Error | undefined;
  const completed: boolean[] = [];
  const logout: LogoutPort = {
    logout: async (_token, complete) => {
      if (failure) throw failure;
      const out = { iss: 'https://idp.test', sid: 'sid-1', jti: 'jti-1' };
      try {
        await complete?.(out);
      } catch (err) {
        completed.push(false); // the real verifier forgets the jti here (logout-token.test.ts)
        throw err;
      }
      completed.push(true);
      return out;
    },
  };
  let server: GatewayServer;
  beforeAll(async () => {
    server = await startGatewayServer(createGateway(fakeGatewayDeps(pipeline, createFakePolicy(), { identity: { logout }, logger })), {
      host: '127.0.0.1',
      port: 0,
    });
  });
  afterAll(() => server?.close());

  const post = () =>
    fetch(`${server.url}/oauth/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'logout_token=a.b.c',
    });

  it.each([
    ['ERR_IDENTITY_SESSION_STORE_UNAVAILABLE', /identity\.sessions\.store/],
    ['ERR_AUDIT_UNAVAILABLE', /audit\.store/],
  ] as const)('%s: 503 with Retry-After and the code, the cause logged, no auth_failure counted', async (code, key) => {
    failure = new CustosError(code, undefined, { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }) });
    const before = audit.rows.length;
    await expectStoreDown(await post(), code, key);
    expect(logger.lines.at(-1)).toMatchObject({ level: 'error', obj: { code, err: 'Error: connect ECONNREFUSED 127.0.0.1:5432' } });
    expect(audit.rows.slice(before).filter((r) => r.event === 'auth_failure')).toEqual([]);
  });

  it('the trail down when the revocation is recorded: 503, and the logout is not completed (the IdP may deliver it again)', async () => {
    failure = undefined;
    audit.failing = true;
    try {
      await expectStoreDown(await post(), 'ERR_AUDIT_UNAVAILABLE', /audit\.store/);
      expect(completed.at(-1)).toBe(false);
    } finally {
      audit.failing = false;
    }
    const res = await post();
    expect(res.status).toBe(200);
    expect(audit.rows.at(-1)).toMatchObject({ event: 'admin', detail: { action: 'session_revoked', via: 'backchannel_logout', jti: 'jti-1' } });
  });

  it('a token that does not verify is still 400 invalid_request', async () => {
    failure = new CustosError('ERR_IDENTITY_CLAIM_INVALID', 'logout token: jti was already used');
    const res = await post();
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'invalid_request', error_description: 'The logout token is not valid.' });
  });
});
