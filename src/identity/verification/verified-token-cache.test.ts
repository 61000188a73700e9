import type * as Jose from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createCustosTokenVerifier, createSigningKeyStore, createTokenVerifier } from '../index.js';
import type { IssuerConfig } from '../index.js';
import { expectDenied } from '../expect-denied.test-support.js';
import { createTestKey, signTestToken, startTestIssuer } from '../issuer.test-support.js';
import type { TestIssuer, TestKey } from '../issuer.test-support.js';

// Counts full verifications: a cache hit must not reach jose.
const joseCalls = vi.hoisted(() => ({ count: 0 }));
vi.mock('jose', async (importOriginal) => {
  const jose = await importOriginal<typeof Jose>();
  return {
    ...jose,
    jwtVerify: (...args: Parameters<typeof Jose.jwtVerify>) => {
      joseCalls.count++;
      return jose.jwtVerify(...args);
    },
  };
});

const AUD = 'urn:custos:test';

describe('verified-token cache', () => {
  let idp: TestIssuer;
  let key: TestKey;
  const nowSec = Math.floor(Date.now() / 1000);
  let offsetSec = 0;

  beforeAll(async () => {
    key = await createTestKey('k1');
    idp = await startTestIssuer([key]);
  });
  afterAll(async () => {
    await idp.close();
  });
  beforeEach(() => {
    joseCalls.count = 0;
    offsetSec = 0;
  });

  const verifier = (extra: Partial<IssuerConfig> = {}, cacheSize?: number) =>
    createTokenVerifier([{ issuer: idp.issuer, audience: AUD, jwksUri: idp.jwksUri, ...extra }], {
      clock: () => (nowSec + offsetSec) * 1000,
      ...(cacheSize === undefined ? {} : { verifiedTokenCacheSize: cacheSize }),
    });

  it('verifies a token once and serves the same exact token again without a signature check', async () => {
    const v = verifier();
    const token = await signTestToken(key, { iss: idp.issuer, aud: AUD, sub: 'u' }, { nowSec });
    const first = await v.verify(token);
    const again = await v.verify(token);
    expect(again).toEqual(first);
    expect(joseCalls.count).toBe(1);
    v.close();
  });

  it('never serves a different string: a tampered signature is verified in full and refused', async () => {
    const v = verifier();
    const token = await signTestToken(key, { iss: idp.issuer, aud: AUD, sub: 'u' }, { nowSec });
    await v.verify(token);
    // Change a character inside the signature, not its last one: the last base64url character of a
    // 64-byte ES256 signature carries padding bits, so changing it can leave the decoded bytes (and a valid signature) as they were.
    const at = token.length - 10;
    const tampered = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
    await expectDenied(v.verify(tampered), 'ERR_IDENTITY_SIGNATURE_INVALID', tampered);
    expect(joseCalls.count).toBe(2);
    v.close();
  });

  it('serves a hit for at most 60 s, and refuses a cached token once it expires (exp + skew)', async () => {
    const v = verifier({ clockSkewSec: 0 });
    const token = await signTestToken(key, { iss: idp.issuer, aud: AUD, sub: 'u' }, { nowSec });
    await v.verify(token);
    offsetSec = 50;
    await expect(v.verify(token)).resolves.toMatchObject({ sub: 'u' });
    expect(joseCalls.count).toBe(1);
    offsetSec = 240; // more than 60 s after its verification: verified in full again
    await expect(v.verify(token)).resolves.toMatchObject({ sub: 'u' });
    expect(joseCalls.count).toBe(2);
    offsetSec = 299; // a hit, until exp
    await expect(v.verify(token)).resolves.toMatchObject({ sub: 'u' });
    expect(joseCalls.count).toBe(2);
    offsetSec = 300; // exp, skew 0
    await expectDenied(v.verify(token), 'ERR_IDENTITY_TOKEN_EXPIRED', token);
  });

  it('refuses a cached token past maxTokenAgeSec', async () => {
    const v = verifier({ clockSkewSec: 0, maxTokenAgeSec: 60 });
    const token = await signTestToken(key, { iss: idp.issuer, aud: AUD, sub: 'u' }, { nowSec });
    await v.verify(token);
    offsetSec = 120;
    await expectDenied(v.verify(token), 'ERR_IDENTITY_TOKEN_TOO_OLD', token);
  });

  it('applies the interactive-client rule on every hit, and caches nothing that failed', async () => {
    const v = verifier({ interactiveClients: ['desk'] });
    const token = await signTestToken(key, { iss: idp.issuer, aud: AUD, sub: 'u', client_id: 'batch' }, { nowSec });
    await expect(v.verifyActor(token)).resolves.toMatchObject({ sub: 'u' });
    await expectDenied(v.verify(token), 'ERR_IDENTITY_CLIENT_NOT_INTERACTIVE', token);
    expect(joseCalls.count).toBe(1);
    const bad = await signTestToken(key, { iss: idp.issuer, aud: 'urn:other', sub: 'u' }, { nowSec });
    await expectDenied(v.verify(bad), 'ERR_IDENTITY_AUDIENCE_MISMATCH', bad);
    await expectDenied(v.verify(bad), 'ERR_IDENTITY_AUDIENCE_MISMATCH', bad);
    expect(joseCalls.count).toBe(3);
  });

  it('is bounded (least recently used dropped first), can be turned off, and is dropped by close()', async () => {
    const tokens = await Promise.all(['a', 'b', 'c'].map((sub) => signTestToken(key, { iss: idp.issuer, aud: AUD, sub }, { nowSec })));
    const small = verifier({}, 2);
    for (const t of tokens) await small.verify(t);
    expect(joseCalls.count).toBe(3);
    await small.verify(tokens[2]!);
    await small.verify(tokens[1]!);
    expect(joseCalls.count).toBe(3);
    await small.verify(tokens[0]!); // evicted
    expect(joseCalls.count).toBe(4);

    joseCalls.count = 0;
    const off = verifier({}, 0);
    await off.verify(tokens[0]!);
    await off.verify(tokens[0]!);
    expect(joseCalls.count).toBe(2);

    small.close();
    await expectDenied(small.verify(tokens[2]!), 'ERR_IDENTITY_JWKS_UNAVAILABLE', tokens[2]!);
    off.close();
  });

  it("the front door's verifier serves a known issuer token from the cache until its exp, then verifies it in full and refuses it", async () => {
    const issuers = verifier({ clockSkewSec: 0 });
    const clock = () => (nowSec + offsetSec) * 1000;
    const keys = await createSigningKeyStore({ clock, retainSec: 600 });
    const front = createCustosTokenVerifier(issuers, { keys, issuer: 'https://custos.test', audience: 'https://custos.test/mcp', clockSkewSec: 0, clock });
    const token = await signTestToken(key, { iss: idp.issuer, aud: AUD, sub: 'u' }, { nowSec });
    await front.verify(token);
    offsetSec = 240;
    const first = await front.verify(token); // past the cache's 60 s: verified in full again
    offsetSec = 299;
    expect(await front.verify(token)).toBe(first);
    expect(joseCalls.count).toBe(2);
    offsetSec = 300;
    await expectDenied(front.verify(token), 'ERR_IDENTITY_TOKEN_EXPIRED', token);
    expect(joseCalls.count).toBe(3);
    // a token naming Custos as its issuer still takes the delegation path (Custos' own keys), never the issuers' cache
    const forged = await signTestToken(key, { iss: 'https://custos.test', aud: 'https://custos.test/mcp', sub: 'u' }, { nowSec: nowSec + offsetSec });
    await expectDenied(front.verify(forged), 'ERR_IDENTITY_KEY_NOT_FOUND', forged);
    issuers.close();
  });
});
