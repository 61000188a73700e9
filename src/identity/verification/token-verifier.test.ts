import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustosError } from '../../kernel/index.js';
import { createTokenVerifier } from '../index.js';
import type { IssuerConfig } from '../index.js';
import { expectDenied } from '../expect-denied.test-support.js';
import { createTestKey, signTestToken, startTestIssuer } from '../issuer.test-support.js';
import type { TestIssuer, TestKey } from '../issuer.test-support.js';

const AUD = 'urn:custos:test';

function configError(build: () => unknown): CustosError {
  try {
    build();
  } catch (err) {
    expect(err).toBeInstanceOf(CustosError);
    expect((err as CustosError).code).toBe('ERR_CONFIG_INVALID');
    return err as CustosError;
  }
  throw new Error('expected ERR_CONFIG_INVALID');
}

describe('createTokenVerifier configuration', () => {
  const base: IssuerConfig = { issuer: 'https://idp.example.test', audience: AUD };

  it('refuses none and HMAC algorithms even when configured', () => {
    for (const algorithms of [['none'], ['HS256'], ['RS256', 'hs512'], ['NONE'], []]) {
      configError(() => createTokenVerifier([{ ...base, algorithms }]));
    }
    configError(() => createTokenVerifier([{ ...base, algorithms: ['RSA-OAEP'] }]));
  });

  it('refuses an empty issuer list, duplicates, bad URLs, a missing audience and bad options', () => {
    configError(() => createTokenVerifier([]));
    configError(() => createTokenVerifier([base, base]));
    configError(() => createTokenVerifier([{ ...base, issuer: 'not a url' }]));
    configError(() => createTokenVerifier([{ ...base, jwksUri: 'file:///etc/passwd' }]));
    configError(() => createTokenVerifier([{ ...base, audience: [] }]));
    configError(() => createTokenVerifier([{ ...base, audience: '' }]));
    configError(() => createTokenVerifier([{ ...base, clockSkewSec: -1 }]));
    configError(() => createTokenVerifier([base], { fetchTimeoutMs: -5 }));
  });

  it('accepts a sound configuration', () => {
    const verifier = createTokenVerifier([base, { ...base, issuer: 'https://other.example.test', algorithms: ['ES256', 'EdDSA'] }]);
    expect(typeof verifier.verify).toBe('function');
    verifier.close();
  });
});

describe('time and claim checks', () => {
  let idp: TestIssuer;
  let key: TestKey;
  const nowSec = Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    key = await createTestKey('k1');
    idp = await startTestIssuer([key]);
  });
  afterAll(async () => {
    await idp.close();
  });

  const verifierAt = (offsetSec: number, extra: Partial<IssuerConfig> = {}) =>
    createTokenVerifier([{ issuer: idp.issuer, audience: AUD, jwksUri: idp.jwksUri, ...extra }], {
      clock: () => (nowSec + offsetSec) * 1000,
    });

  it('uses the injected clock for exp and iat', async () => {
    const token = await signTestToken(key, { iss: idp.issuer, aud: AUD, sub: 'u' }, { nowSec });
    await expect(verifierAt(0).verify(token)).resolves.toMatchObject({ sub: 'u', issuedAt: nowSec, expiresAt: nowSec + 300 });
    await expectDenied(verifierAt(600).verify(token), 'ERR_IDENTITY_TOKEN_EXPIRED', token);
    await expectDenied(verifierAt(-600).verify(token), 'ERR_IDENTITY_TOKEN_NOT_YET_VALID', token);
  });

  it('tolerates the configured clock skew and no more', async () => {
    const token = await signTestToken(key, { iss: idp.issuer, aud: AUD, sub: 'u' }, { nowSec });
    await expect(verifierAt(330).verify(token)).resolves.toBeDefined(); // 30 s past exp, skew 60
    await expectDenied(verifierAt(330, { clockSkewSec: 0 }).verify(token), 'ERR_IDENTITY_TOKEN_EXPIRED', token);
  });

  it('refuses a token older than maxTokenAgeSec, and one without iat when an age is required', async () => {
    const old = await signTestToken(key, { iss: idp.issuer, aud: AUD, sub: 'u', iat: nowSec - 600, exp: nowSec + 300 }, { nowSec });
    await expect(verifierAt(0).verify(old)).resolves.toBeDefined();
    await expectDenied(verifierAt(0, { maxTokenAgeSec: 120 }).verify(old), 'ERR_IDENTITY_TOKEN_TOO_OLD', old);
    const noIat = await signTestToken(key, { iss: idp.issuer, aud: AUD, sub: 'u', iat: undefined }, { nowSec });
    await expectDenied(verifierAt(0, { maxTokenAgeSec: 120 }).verify(noIat), 'ERR_IDENTITY_CLAIM_MISSING', noIat);
  });

  it('enforces requiredClaims', async () => {
    const token = await signTestToken(key, { iss: idp.issuer, aud: AUD, sub: 'u' }, { nowSec });
    const err = await expectDenied(verifierAt(0, { requiredClaims: ['tenant'] }).verify(token), 'ERR_IDENTITY_CLAIM_MISSING', token);
    expect(err.detail).toMatchObject({ claim: 'tenant' });
  });

  it('accepts any of several audiences', async () => {
    const token = await signTestToken(key, { iss: idp.issuer, aud: ['urn:other', AUD], sub: 'u' }, { nowSec });
    await expect(verifierAt(0, { audience: ['urn:x', AUD] }).verify(token)).resolves.toBeDefined();
    await expectDenied(verifierAt(0, { audience: ['urn:x'] }).verify(token), 'ERR_IDENTITY_AUDIENCE_MISMATCH', token);
  });

  it('returns a frozen principal without undefined fields', async () => {
    const token = await signTestToken(key, { iss: idp.issuer, aud: AUD, sub: 'u' }, { nowSec });
    const principal = await verifierAt(0).verify(token);
    expect(Object.isFrozen(principal)).toBe(true);
    expect(Object.keys(principal).sort()).toEqual(['expiresAt', 'groups', 'iss', 'issuedAt', 'roles', 'sub']);
  });
});
