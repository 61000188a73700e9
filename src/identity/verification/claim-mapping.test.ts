import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier, readClaimPath } from '../index.js';
import type { ClosableTokenVerifier, IssuerConfig } from '../index.js';
import { expectDenied } from '../expect-denied.test-support.js';
import { createTestKey, signTestToken, startTestIssuer } from '../issuer.test-support.js';
import type { TestIssuer, TestKey } from '../issuer.test-support.js';

const OKTA = 'https://dev-123456.okta.com/oauth2/default';
const OKTA_CID = 'https://dev-654321.okta.com/oauth2/default';
const AUTH0 = 'https://example-tenant.us.auth0.com/';
const ENTRA = 'https://login.microsoftonline.com/72f988bf-0000-0000-0000-2d7cd011db47/v2.0';
const KEYCLOAK = 'https://keycloak.example.test/realms/custos';
const AUD = 'api://custos';

describe('claim mapping for common identity providers', () => {
  let jwks: TestIssuer;
  let key: TestKey;
  let verifier: ClosableTokenVerifier;

  beforeAll(async () => {
    key = await createTestKey('shared');
    jwks = await startTestIssuer([key]);
    const issuers: IssuerConfig[] = [
      { issuer: OKTA, audience: AUD, jwksUri: jwks.jwksUri, claims: { groups: 'groups' } },
      { issuer: OKTA_CID, audience: AUD, jwksUri: jwks.jwksUri, claims: { groups: 'groups', clientId: 'cid' }, interactiveClients: ['0oa-desktop'] },
      {
        issuer: AUTH0,
        audience: [AUD, 'https://example-tenant.us.auth0.com/userinfo'],
        jwksUri: jwks.jwksUri,
        claims: { roles: 'https://example.com/roles', tenant: 'https://example.com/tenant', email: 'https://example.com/email' },
      },
      { issuer: ENTRA, audience: AUD, jwksUri: jwks.jwksUri, claims: { roles: 'roles', tenant: 'tid', email: 'preferred_username' } },
      { issuer: KEYCLOAK, audience: AUD, jwksUri: jwks.jwksUri, claims: { roles: 'realm_access.roles', groups: 'groups', tenant: 'org.id' } },
    ];
    verifier = createTokenVerifier(issuers);
  });
  afterAll(async () => {
    verifier.close();
    await jwks.close();
  });

  it('Okta: the client is `cid`; only the interactive client passes the front door, the agent client is refused', async () => {
    const desktop = await signTestToken(key, { iss: OKTA_CID, aud: AUD, sub: '00u1', cid: '0oa-desktop' });
    await expect(verifier.verify(desktop)).resolves.toMatchObject({ sub: '00u1', clientId: '0oa-desktop' });
    const agent = await signTestToken(key, { iss: OKTA_CID, aud: AUD, sub: '00u1', cid: '0oa-agent', client_id: '0oa-desktop' });
    await expectDenied(verifier.verify(agent), 'ERR_IDENTITY_CLIENT_NOT_INTERACTIVE', agent);
    await expect(verifier.verifyActor(agent)).resolves.toMatchObject({ clientId: '0oa-agent' });
  });

  it('Okta: groups claim', async () => {
    const token = await signTestToken(key, { iss: OKTA, aud: AUD, sub: '00u1abcd', email: 'a@okta.test', cid: 'x', groups: ['Everyone', 'clinicians'] });
    expect(await verifier.verify(token)).toMatchObject({ sub: '00u1abcd', email: 'a@okta.test', groups: ['Everyone', 'clinicians'], roles: [] });
  });

  it('Auth0: namespaced claims whose keys contain dots and slashes', async () => {
    const token = await signTestToken(key, {
      iss: AUTH0,
      aud: [AUD, 'https://example-tenant.us.auth0.com/userinfo'],
      sub: 'auth0|abc',
      azp: 'auth0-client',
      'https://example.com/roles': ['clinician', 'admin'],
      'https://example.com/tenant': 'general-hospital',
      'https://example.com/email': 'a@auth0.test',
    });
    expect(await verifier.verify(token)).toMatchObject({
      sub: 'auth0|abc',
      roles: ['clinician', 'admin'],
      tenant: 'general-hospital',
      email: 'a@auth0.test',
      clientId: 'auth0-client',
    });
  });

  it('Entra ID: app roles in roles, tenant in tid', async () => {
    const token = await signTestToken(key, {
      iss: ENTRA,
      aud: AUD,
      sub: 'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ',
      tid: '72f988bf-0000-0000-0000-2d7cd011db47',
      preferred_username: 'alice@contoso.test',
      roles: ['Clinician.ReadWrite'],
      azp: 'entra-app',
    });
    expect(await verifier.verify(token)).toMatchObject({
      roles: ['Clinician.ReadWrite'],
      tenant: '72f988bf-0000-0000-0000-2d7cd011db47',
      email: 'alice@contoso.test',
      clientId: 'entra-app',
    });
  });

  it('Keycloak: realm_access.roles, groups and a nested tenant', async () => {
    const token = await signTestToken(key, {
      iss: KEYCLOAK,
      aud: [AUD, 'account'],
      sub: 'f:1234',
      sid: 'kc-session-1',
      azp: 'custos-cli',
      jti: 'tok-1',
      email: 'a@kc.test',
      realm_access: { roles: ['clinician', 'offline_access'] },
      groups: ['/hospital/er'],
      org: { id: 'general-hospital' },
    });
    expect(await verifier.verify(token)).toMatchObject({
      roles: ['clinician', 'offline_access'],
      groups: ['/hospital/er'],
      tenant: 'general-hospital',
      sessionId: 'kc-session-1',
      clientId: 'custos-cli',
      tokenId: 'tok-1',
    });
  });

  it('maps absent claims to empty lists, and one string to a one-item list', async () => {
    const bare = await signTestToken(key, { iss: KEYCLOAK, aud: AUD, sub: 's' });
    expect(await verifier.verify(bare)).toMatchObject({ roles: [], groups: [] });
    const single = await signTestToken(key, { iss: OKTA, aud: AUD, sub: 's', groups: 'clinicians' });
    expect((await verifier.verify(single)).groups).toEqual(['clinicians']);
  });

  it('refuses claims of the wrong type without echoing them', async () => {
    const cases: Record<string, unknown>[] = [
      { realm_access: { roles: ['ok', 42] } },
      { realm_access: { roles: { admin: true } } },
      { email: 12345 },
      { org: { id: ['a', 'b'] } },
    ];
    for (const extra of cases) {
      const token = await signTestToken(key, { iss: KEYCLOAK, aud: AUD, sub: 's', ...extra });
      await expectDenied(verifier.verify(token), 'ERR_IDENTITY_CLAIM_INVALID', token, ['12345']);
    }
    const numericSub = await signTestToken(key, { iss: KEYCLOAK, aud: AUD, sub: 987654 as unknown as string });
    await expectDenied(verifier.verify(numericSub), 'ERR_IDENTITY_CLAIM_INVALID', numericSub, ['987654']);
  });
});

describe('readClaimPath', () => {
  it('prefers a whole key containing dots, then the longest matching prefix', () => {
    const claims = {
      'https://example.com/roles': ['a'],
      resource_access: { 'api.example.com': { roles: ['b'] } },
      'a.b': { c: 'whole-prefix' },
      a: { b: { c: 'nested' } },
    };
    expect(readClaimPath(claims, 'https://example.com/roles')).toEqual(['a']);
    expect(readClaimPath(claims, 'resource_access.api.example.com.roles')).toEqual(['b']);
    expect(readClaimPath(claims, 'a.b.c')).toBe('whole-prefix');
    expect(readClaimPath({ a: { b: { c: 'nested' } } }, 'a.b.c')).toBe('nested');
  });

  it('reads own properties only', () => {
    expect(readClaimPath({}, 'constructor')).toBeUndefined();
    expect(readClaimPath({ a: 'x' }, 'a.length')).toBeUndefined();
    expect(readClaimPath({ a: ['x'] }, 'a.0')).toBeUndefined();
    expect(readClaimPath({ a: 1 }, '')).toBeUndefined();
    expect(readClaimPath(null, 'a')).toBeUndefined();
  });
});
