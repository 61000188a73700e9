import { createHmac, KeyObject } from 'node:crypto';
import { importJWK } from 'jose';
import type { CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier } from '../index.js';
import type { ClosableTokenVerifier } from '../index.js';
import { expectDenied } from '../expect-denied.test-support.js';
import { createTestKey, forgeToken, signEs256, signTestToken, startTestIssuer } from '../issuer.test-support.js';
import type { TestIssuer, TestKey } from '../issuer.test-support.js';

const AUD = 'http://127.0.0.1:8787/mcp';
const SUB = 'patient-zero-sub-9f3a';
const EMAIL = 'very-private-person@example.test';
const SECRETS = [SUB, EMAIL];

describe('token verifier under attack', () => {
  let idp: TestIssuer;
  let key: TestKey;
  let verifier: ClosableTokenVerifier;
  let claims: Record<string, unknown>;
  const now = () => Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    key = await createTestKey('k1');
    idp = await startTestIssuer([key]);
    verifier = createTokenVerifier([{ issuer: idp.issuer, audience: AUD, jwksUri: idp.jwksUri, claims: { roles: 'roles' } }]);
    claims = { iss: idp.issuer, aud: AUD, sub: SUB, email: EMAIL, roles: ['clinician'] };
  });
  afterAll(async () => {
    verifier.close();
    await idp.close();
  });

  it('accepts the well-formed control token (so the refusals below mean something)', async () => {
    const principal = await verifier.verify(await signTestToken(key, claims));
    expect(principal).toMatchObject({ sub: SUB, email: EMAIL, roles: ['clinician'] });
  });

  it('refuses alg none', async () => {
    const token = forgeToken({ alg: 'none', kid: 'k1' }, { ...claims, iat: now(), exp: now() + 300 }, () => '');
    await expectDenied(verifier.verify(token), 'ERR_IDENTITY_ALG_NOT_ALLOWED', token, SECRETS);
  });

  it('refuses HS256 signed with the issuer public key bytes (key confusion)', async () => {
    const publicKey = (await importJWK(key.publicJwk, 'ES256')) as CryptoKey;
    const pem = KeyObject.from(publicKey).export({ type: 'spki', format: 'pem' });
    const hmac = (secret: string | Buffer) => (input: string) => createHmac('sha256', secret).update(input).digest('base64url');
    for (const secret of [pem, JSON.stringify(key.publicJwk)]) {
      const token = forgeToken({ alg: 'HS256', kid: 'k1', typ: 'JWT' }, { ...claims, iat: now(), exp: now() + 300 }, hmac(secret));
      await expectDenied(verifier.verify(token), 'ERR_IDENTITY_ALG_NOT_ALLOWED', token, SECRETS);
    }
  });

  it('refuses an alg outside the issuer allow-list', async () => {
    const rsOnly = createTokenVerifier([{ issuer: idp.issuer, audience: AUD, jwksUri: idp.jwksUri, algorithms: ['RS256'] }]);
    const token = await signTestToken(key, claims);
    await expectDenied(rsOnly.verify(token), 'ERR_IDENTITY_ALG_NOT_ALLOWED', token, SECRETS);
    rsOnly.close();
  });

  it('refuses an unknown kid', async () => {
    const stranger = await createTestKey('k-unknown');
    const token = await signTestToken(stranger, claims);
    await expectDenied(verifier.verify(token), 'ERR_IDENTITY_KEY_NOT_FOUND', token, SECRETS);
  });

  it('refuses a token signed by another key under a known kid', async () => {
    const impostor = await createTestKey('k1');
    const token = await signTestToken(impostor, claims);
    await expectDenied(verifier.verify(token), 'ERR_IDENTITY_SIGNATURE_INVALID', token, SECRETS);
  });

  it('refuses an expired token (beyond the clock skew)', async () => {
    const token = await signTestToken(key, claims, { nowSec: now() - 1000 });
    await expectDenied(verifier.verify(token), 'ERR_IDENTITY_TOKEN_EXPIRED', token, SECRETS);
  });

  it('refuses nbf in the future', async () => {
    const token = await signTestToken(key, { ...claims, nbf: now() + 600 });
    await expectDenied(verifier.verify(token), 'ERR_IDENTITY_TOKEN_NOT_YET_VALID', token, SECRETS);
  });

  it('refuses iat in the future', async () => {
    const token = await signTestToken(key, { ...claims, iat: now() + 600, exp: now() + 900 });
    await expectDenied(verifier.verify(token), 'ERR_IDENTITY_TOKEN_NOT_YET_VALID', token, SECRETS);
  });

  it('refuses a wrong or missing iss', async () => {
    const wrong = await signTestToken(key, { ...claims, iss: 'https://evil.example' });
    await expectDenied(verifier.verify(wrong), 'ERR_IDENTITY_ISSUER_UNKNOWN', wrong, SECRETS);
    const missing = await signTestToken(key, { ...claims, iss: undefined });
    await expectDenied(verifier.verify(missing), 'ERR_IDENTITY_ISSUER_UNKNOWN', missing, SECRETS);
  });

  it('refuses a wrong aud', async () => {
    const token = await signTestToken(key, { ...claims, aud: 'http://127.0.0.1:9999/other' });
    await expectDenied(verifier.verify(token), 'ERR_IDENTITY_AUDIENCE_MISMATCH', token, SECRETS);
  });

  it('refuses a missing sub', async () => {
    const token = await signTestToken(key, { ...claims, sub: undefined });
    await expectDenied(verifier.verify(token), 'ERR_IDENTITY_CLAIM_MISSING', token, [EMAIL]);
  });

  it('refuses a payload changed after signing', async () => {
    const [header, , signature] = (await signTestToken(key, claims)).split('.');
    const changed = Buffer.from(JSON.stringify({ ...claims, roles: ['admin'], iat: now(), exp: now() + 300 })).toString('base64url');
    const token = `${header}.${changed}.${signature}`;
    await expectDenied(verifier.verify(token), 'ERR_IDENTITY_SIGNATURE_INVALID', token, SECRETS);
  });

  it('refuses garbage', async () => {
    for (const token of ['not-a-jwt', 'a.b.c', '...', 'eyJhbGciOiJFUzI1NiJ9.%%%.xx', `${Buffer.from('[1]').toString('base64url')}.e30.AA`]) {
      await expectDenied(verifier.verify(token), 'ERR_IDENTITY_TOKEN_MALFORMED', token);
    }
    await expectDenied(verifier.verify(''), 'ERR_IDENTITY_TOKEN_MISSING', '');
  });

  it('refuses truncated tokens', async () => {
    const token = await signTestToken(key, claims);
    const noSignature = token.slice(0, token.lastIndexOf('.'));
    await expectDenied(verifier.verify(noSignature), 'ERR_IDENTITY_TOKEN_MALFORMED', noSignature, SECRETS);
    const shortSignature = token.slice(0, -10);
    await expectDenied(verifier.verify(shortSignature), 'ERR_IDENTITY_SIGNATURE_INVALID', shortSignature, SECRETS);
    const halfPayload = token.slice(0, token.indexOf('.') + 20);
    await expectDenied(verifier.verify(halfPayload), 'ERR_IDENTITY_TOKEN_MALFORMED', halfPayload, SECRETS);
  });

  it('refuses a token over 16 KB before parsing or fetching keys', async () => {
    const before = idp.jwksRequests();
    const token = await signTestToken(key, { ...claims, padding: 'x'.repeat(17 * 1024) });
    await expectDenied(verifier.verify(token), 'ERR_IDENTITY_TOKEN_TOO_LARGE', token, SECRETS);
    const junk = 'A'.repeat(16 * 1024 + 1);
    await expectDenied(verifier.verify(junk), 'ERR_IDENTITY_TOKEN_TOO_LARGE', junk);
    expect(idp.jwksRequests()).toBe(before);
  });

  it('refuses an unknown crit header, even when correctly signed', async () => {
    const header = { alg: 'ES256', kid: 'k1', crit: ['x-custos-unknown'], 'x-custos-unknown': true };
    const token = forgeToken(header, { ...claims, iat: now(), exp: now() + 300 }, signEs256(key));
    await expectDenied(verifier.verify(token), 'ERR_IDENTITY_CRIT_UNSUPPORTED', token, SECRETS);
    const control = forgeToken({ alg: 'ES256', kid: 'k1' }, { ...claims, iat: now(), exp: now() + 300 }, signEs256(key));
    await expect(verifier.verify(control)).resolves.toMatchObject({ sub: SUB });
  });
});
