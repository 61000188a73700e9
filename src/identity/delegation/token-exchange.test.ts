import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustosError, createPipeline } from '../../kernel/index.js';
import type { AuditStore, ControlPlaneRecorder, Principal, Protector, SessionGuard } from '../../kernel/index.js';
import { createDelegation } from './delegation-service.js';
import type { Delegation } from './delegation-service.js';
import { ACCESS_TOKEN_TYPE, narrowScope, TOKEN_EXCHANGE_GRANT } from './exchange-request.js';
import { createMemoryAudit } from '../../audit/index.test-support.js';
import { createTestKey, signTestToken, startTestIssuer } from '../issuer.test-support.js';
import type { TestIssuer, TestKey } from '../issuer.test-support.js';
import { createTokenVerifier } from '../verification/token-verifier.js';

const CUSTOS = 'http://custos.test';
const RESOURCE = `${CUSTOS}/mcp`;

/** Redacts the string SECRET wherever it appears (enough to see that a row's detail is redacted). */
const markerProtector: Protector = {
  classify: () => [],
  redact: <T>(value: T) => {
    const text = JSON.stringify(value ?? null);
    const count = text.split('SECRET').length - 1;
    return { value: JSON.parse(text.replaceAll('SECRET', '[redacted:secret]')) as T, count, types: count ? ['secret'] : [] };
  },
};

/** The rows of the token endpoint go through the kernel's builders, as in src/app (the pipeline). */
function createRowRecorder(store: AuditStore): ControlPlaneRecorder {
  const bundle = {
    bundleHash: 'b'.repeat(64),
    classificationRules: [],
    classifyTool: () => ({ classes: [] }),
    decide: () => ({ decision: 'deny' as const, reasons: [], bundleHash: 'b'.repeat(64), determiningPolicies: [] }),
  };
  return createPipeline({
    policy: { current: () => bundle },
    protector: markerProtector,
    audit: store,
    clock: { now: () => new Date() },
    ids: { newId: () => 'id' },
  });
}

async function refusal(attempt: Promise<unknown>): Promise<CustosError> {
  const err = await attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CustosError);
  expect((err as CustosError).code).toBe('ERR_IDENTITY_DELEGATION_INVALID');
  return err as CustosError;
}

describe('token exchange (unit, with a test issuer and a controlled clock)', () => {
  let idp: TestIssuer;
  let key: TestKey;
  let now: number;
  const store = createMemoryAudit();
  const audit = { rows: store.rows, ...createRowRecorder(store) };
  let revokedSessions: Set<string>;

  const sessions: SessionGuard = {
    async check(principal: Principal) {
      if (principal.sessionId && revokedSessions.has(principal.sessionId)) throw new CustosError('ERR_IDENTITY_SESSION_REVOKED');
    },
    async touch() {},
  };

  async function setup(settings: Parameters<typeof createDelegation>[0]['settings'] = {}): Promise<Delegation> {
    const issuers = createTokenVerifier([{ issuer: idp.issuer, audience: RESOURCE, jwksUri: idp.jwksUri, interactiveClients: ['cli'] }], { clock: () => now });
    return createDelegation({ issuers, issuerUrls: [idp.issuer], issuer: CUSTOS, resource: RESOURCE, audit, keys: {}, settings, sessions, clock: () => now });
  }

  const userToken = (extra: Record<string, unknown> = {}) =>
    signTestToken(
      key,
      { iss: idp.issuer, aud: RESOURCE, sub: 'alice', client_id: 'cli', sid: 'S1', scope: 'mcp files:read', roles: ['clinician'], ...extra },
      { nowSec: Math.floor(now / 1000) },
    );
  const agentToken = (clientId: string) =>
    signTestToken(key, { iss: idp.issuer, aud: RESOURCE, sub: clientId, client_id: clientId }, { nowSec: Math.floor(now / 1000) });
  const form = (subject: string, actor: string, extra: Record<string, string> = {}) => ({
    grant_type: TOKEN_EXCHANGE_GRANT,
    subject_token: subject,
    subject_token_type: ACCESS_TOKEN_TYPE,
    actor_token: actor,
    actor_token_type: ACCESS_TOKEN_TYPE,
    ...extra,
  });

  beforeAll(async () => {
    key = await createTestKey('k1');
    idp = await startTestIssuer([key]);
  });
  afterAll(async () => idp?.close());

  it('mints a token no longer-lived than the subject, with sid, act and a narrowed scope; the verifier reads it back', async () => {
    now = Date.now();
    revokedSessions = new Set();
    const d = await setup();
    const subject = await signTestToken(
      key,
      { iss: idp.issuer, aud: RESOURCE, sub: 'alice', client_id: 'cli', sid: 'S1', scope: 'mcp files:read', exp: Math.floor(now / 1000) + 100 },
      { nowSec: Math.floor(now / 1000) },
    );
    const body = await d.tokens.exchange(form(subject, await agentToken('agent-a'), { scope: 'files:read' }));
    expect(body).toMatchObject({ issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer', scope: 'files:read' });
    expect(body.expires_in).toBeLessThanOrEqual(100);
    const principal = await d.verifier.verify(body.access_token as string);
    expect(principal).toMatchObject({
      sub: 'alice',
      iss: idp.issuer,
      sessionId: 'S1',
      credential: 'delegation',
      actors: ['agent-a'],
      scope: ['files:read'],
      clientId: 'agent-a',
    });
    expect(audit.rows.at(-1)).toMatchObject({
      event: 'admin',
      user: { sub: 'alice' },
      agent: { tier: 'subagent', delegation_chain: ['user:alice', 'agent:agent-a'] },
    });
  });

  it('refuses an expired subject (delegation token past its 5 minutes) and a revoked session, audited under nobody / alice', async () => {
    now = Date.now();
    revokedSessions = new Set();
    const d = await setup();
    const first = (await d.tokens.exchange(form(await userToken(), await agentToken('agent-a')))).access_token as string;
    now += 301_000 + 60_000;
    const expired = await refusal(d.tokens.exchange(form(first, await agentToken('agent-b'))));
    expect(expired.detail).toMatchObject({ oauth_error: 'invalid_request', reason: 'subject_token_invalid', cause_code: 'ERR_IDENTITY_TOKEN_EXPIRED' });
    expect(expired.message).not.toContain(first.slice(0, 40));
    now -= 30_000; // past exp but within the 60 s skew: still nothing is minted from it
    const withinSkew = await refusal(d.tokens.exchange(form(first, await agentToken('agent-b'))));
    expect(withinSkew.detail).toMatchObject({ reason: 'subject_token_invalid', cause_code: 'ERR_IDENTITY_TOKEN_EXPIRED' });

    now = Date.now();
    const second = (await d.tokens.exchange(form(await userToken(), await agentToken('agent-a')))).access_token as string;
    revokedSessions.add('S1');
    const revoked = await refusal(d.tokens.exchange(form(second, await agentToken('agent-b'))));
    expect(revoked.detail).toMatchObject({ reason: 'subject_token_invalid', cause_code: 'ERR_IDENTITY_SESSION_REVOKED' });
    expect(audit.rows.at(-1)).toMatchObject({ event: 'deny', policy: { decision: 'deny', reasons: ['delegation_subject_token_invalid'] } });
    expect(JSON.stringify(audit.rows)).not.toContain(second.slice(0, 40));
  });

  it('honours a configured maximum depth and the api tier for listed clients', async () => {
    now = Date.now();
    revokedSessions = new Set();
    const d = await setup({ maxDepth: 1, apiClients: ['svc'] });
    const once = (await d.tokens.exchange(form(await userToken(), await agentToken('agent-a')))).access_token as string;
    const deeper = await refusal(d.tokens.exchange(form(once, await agentToken('agent-b'))));
    expect(deeper.detail).toMatchObject({ oauth_error: 'invalid_request', reason: 'depth_exceeded' });
    const api = (await d.tokens.exchange(form(await userToken(), await agentToken('svc')))).access_token as string;
    expect(decodeJwt(api).custos_cred).toBe('client');
    expect((await d.verifier.verify(api)).credential).toBe('client');
  });

  it('refuses malformed requests with the RFC error codes', async () => {
    now = Date.now();
    const d = await setup();
    const user = await userToken();
    const actor = await agentToken('agent-a');
    const cases: Array<[Record<string, string>, string, string]> = [
      [{ grant_type: 'password' }, 'unsupported_grant_type', 'grant_type_unsupported'],
      [{ ...form(user, actor), actor_token: '' }, 'invalid_request', 'request_invalid'],
      [{ ...form(user, actor), subject_token_type: 'urn:x' }, 'invalid_request', 'token_type_unsupported'],
      [{ ...form(user, actor), audience: 'http://elsewhere' }, 'invalid_target', 'target_invalid'],
      [{ ...form(user, actor), scope: 'a\u0000b' }, 'invalid_scope', 'request_invalid'],
      [{ ...form(user, actor), requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }, 'invalid_request', 'token_type_unsupported'],
    ];
    for (const [request, error, reason] of cases) {
      const err = await refusal(d.tokens.exchange(request));
      expect(err.detail).toMatchObject({ oauth_error: error, reason });
    }
  });

  it('redacts the detail of its rows like every other row (a client id carrying a secret)', async () => {
    now = Date.now();
    const d = await setup();
    const alice: Principal = { sub: 'alice', iss: idp.issuer, roles: [], groups: [] };
    await d.tokens.createBackgroundGrant(alice, { clientId: 'runner-SECRET', ttlSec: 60 });
    expect(audit.rows.at(-1)).toMatchObject({
      event: 'admin',
      policy: { reasons: ['background_grant_created'], bundle_hash: 'b'.repeat(64) },
      detail: { action: 'background_grant', client_id: 'runner-[redacted:secret]' },
    });
    await expect(d.tokens.createBackgroundGrant(alice, { clientId: 'runner-SECRET', ttlSec: 10 ** 9 })).rejects.toMatchObject({
      code: 'ERR_GATEWAY_BAD_REQUEST',
    });
    const refused = await refusal(d.tokens.exchange({ ...form('x', 'y'), audience: 'SECRET' }));
    expect(refused.detail).toMatchObject({ reason: 'target_invalid' });
    expect(audit.rows.at(-1)).toMatchObject({ event: 'deny', policy: { reasons: ['delegation_target_invalid'] } });
    expect(JSON.stringify(audit.rows)).not.toMatch(/SECRET(?!\])/);
  });

  it("a non-interactive client's user token is refused at the front door but is a valid actor", async () => {
    now = Date.now();
    const d = await setup();
    const fromAgentApp = await userToken({ client_id: 'other-app' });
    await expect(d.verifier.verify(fromAgentApp)).rejects.toMatchObject({ code: 'ERR_IDENTITY_CLIENT_NOT_INTERACTIVE' });
    const body = await d.tokens.exchange(form(await userToken(), fromAgentApp));
    expect(decodeJwt(body.access_token as string).act).toEqual({ sub: 'other-app' });
  });
});

describe('narrowScope', () => {
  it('only narrows', () => {
    expect(narrowScope(['a', 'b'], ['a'])).toEqual(['a']);
    expect(narrowScope(['a', 'b'], undefined)).toEqual(['a', 'b']);
    expect(narrowScope(undefined, ['x'])).toEqual(['x']);
    expect(() => narrowScope(['a'], ['a', 'b'])).toThrow(CustosError);
    expect(() => narrowScope([], ['a'])).toThrow(CustosError);
  });
});
