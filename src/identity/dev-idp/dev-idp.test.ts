import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { createTokenVerifier } from '../index.js';
import { fetchDevToken, startDevIdentityProvider } from './index.js';
import type { DevIdentityProvider } from './index.js';

const AUDIENCE = 'http://127.0.0.1:8787/mcp';

describe('dev identity provider', () => {
  let idp: DevIdentityProvider;
  const logs: string[] = [];

  beforeAll(async () => {
    idp = await startDevIdentityProvider({ audience: AUDIENCE, log: (line) => logs.push(line) });
  });
  afterAll(async () => {
    await idp.close();
  });

  it('says it is dev-only and listens on 127.0.0.1', () => {
    expect(idp.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(logs.join('\n')).toContain('DEV-ONLY');
  });

  it('serves discovery at issuer/.well-known/openid-configuration', async () => {
    const res = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Record<string, unknown>;
    expect(doc.issuer).toBe(idp.issuer);
    expect(doc.jwks_uri).toBe(idp.jwksUri);
  });

  it('issues an ES256 JWT access token for alice through code + PKCE', async () => {
    const token = await fetchDevToken(idp.issuer, 'alice');
    const header = decodeProtectedHeader(token);
    const claims = decodeJwt(token);
    expect(header.alg).toBe('ES256');
    expect(claims).toMatchObject({
      iss: idp.issuer,
      aud: AUDIENCE,
      sub: 'alice',
      email: 'alice@example.test',
      roles: ['clinician'],
      tenant: 'general-hospital',
      client_id: 'custos-cli',
    });
    expect(typeof claims.sid).toBe('string');
  });

  it('verifies alice and bob through OIDC discovery, with roles, tenant, email and sid mapped', async () => {
    const verifier = createTokenVerifier([{ issuer: idp.issuer, audience: AUDIENCE, claims: { roles: 'roles', tenant: 'tenant' } }]);
    try {
      const alice = await verifier.verify(await fetchDevToken(idp.issuer, 'alice'));
      expect(alice).toMatchObject({
        sub: 'alice',
        iss: idp.issuer,
        email: 'alice@example.test',
        roles: ['clinician'],
        groups: [],
        tenant: 'general-hospital',
        clientId: 'custos-cli',
      });
      expect(alice.sessionId).toEqual(expect.any(String));
      expect(alice.tokenId).toEqual(expect.any(String));
      expect(alice.expiresAt! - alice.issuedAt!).toBe(3600);
      const bob = await verifier.verify(await fetchDevToken(idp.issuer, 'bob'));
      expect(bob).toMatchObject({ sub: 'bob', email: 'bob@example.test', roles: ['billing'], tenant: 'general-hospital' });
    } finally {
      verifier.close();
    }
  });

  it('verifies with an explicit jwksUri', async () => {
    const verifier = createTokenVerifier([{ issuer: idp.issuer, audience: AUDIENCE, jwksUri: idp.jwksUri, claims: { roles: 'roles' } }]);
    try {
      await expect(verifier.verify(await fetchDevToken(idp.issuer, 'bob'))).resolves.toMatchObject({ sub: 'bob', roles: ['billing'] });
    } finally {
      verifier.close();
    }
  });

  it('gives distinct sessions to distinct logins', async () => {
    const a = decodeJwt(await fetchDevToken(idp.issuer, 'alice'));
    const b = decodeJwt(await fetchDevToken(idp.issuer, 'alice'));
    expect(a.sid).not.toBe(b.sid);
    expect(a.jti).not.toBe(b.jti);
  });

  it('issues for another resource when asked, which the Custos audience then refuses', async () => {
    const other = 'http://127.0.0.1:9/elsewhere';
    const token = await fetchDevToken(idp.issuer, 'alice', { resource: other });
    expect(decodeJwt(token).aud).toBe(other);
    const verifier = createTokenVerifier([{ issuer: idp.issuer, audience: AUDIENCE }]);
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'ERR_IDENTITY_AUDIENCE_MISMATCH' });
    verifier.close();
  });

  it('refuses to bind anything but loopback', async () => {
    for (const host of ['0.0.0.0', '::', '10.0.0.1']) {
      await expect(startDevIdentityProvider({ host, audience: AUDIENCE, log: () => undefined })).rejects.toThrow(/loopback/);
    }
  });

  it('refuses a login_hint that names no demo user', async () => {
    await expect(fetchDevToken(idp.issuer, 'mallory')).rejects.toThrow(/unknown user|HTTP 400/);
  });

  it('applies accessTokenTtlSec and custom users', async () => {
    const custom = await startDevIdentityProvider({
      audience: AUDIENCE,
      accessTokenTtlSec: 120,
      users: [{ username: 'carol', sub: 'u-carol', email: 'carol@example.test', groups: ['oncall'], roles: [] }],
      log: () => undefined,
    });
    try {
      const claims = decodeJwt(await fetchDevToken(custom.issuer, 'carol'));
      expect(claims.sub).toBe('u-carol');
      expect(claims.groups).toEqual(['oncall']);
      expect(claims.exp! - claims.iat!).toBe(120);
      await expect(fetchDevToken(custom.issuer, 'alice')).rejects.toThrow();
    } finally {
      await custom.close();
    }
  });
});
