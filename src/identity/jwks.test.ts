import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createTokenVerifier } from './index.js';
import { expectDenied } from './test-expect-denied.js';
import { createTestKey, signTestToken, startTestIssuer } from './test-issuer.js';
import type { TestIssuer } from './test-issuer.js';

const AUD = 'urn:custos:test';
const open: TestIssuer[] = [];

async function issuerWith(...kids: string[]) {
  const keys = await Promise.all(kids.map((kid) => createTestKey(kid)));
  const idp = await startTestIssuer(keys);
  open.push(idp);
  return { idp, keys };
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((idp) => idp.close()));
});

describe('JWKS fetching', () => {
  it('denies within the configured timeout when the JWKS endpoint hangs', async () => {
    const { idp, keys } = await issuerWith('k1');
    idp.setHang(true);
    const verifier = createTokenVerifier([{ issuer: idp.issuer, audience: AUD, jwksUri: idp.jwksUri }], { fetchTimeoutMs: 300 });
    const token = await signTestToken(keys[0]!, { iss: idp.issuer, aud: AUD, sub: 'u1' });
    const started = Date.now();
    await expectDenied(verifier.verify(token), 'ERR_IDENTITY_JWKS_UNAVAILABLE', token);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2000);
  });

  it('denies within the timeout when discovery hangs', async () => {
    const { idp, keys } = await issuerWith('k1');
    idp.setHang(true);
    const verifier = createTokenVerifier([{ issuer: idp.issuer, audience: AUD }], { fetchTimeoutMs: 300 });
    const token = await signTestToken(keys[0]!, { iss: idp.issuer, aud: AUD, sub: 'u1' });
    const started = Date.now();
    await expectDenied(verifier.verify(token), 'ERR_IDENTITY_JWKS_UNAVAILABLE', token);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('denies while the issuer hangs, and the same verifier recovers once it answers', async () => {
    const { idp, keys } = await issuerWith('k1');
    const verifier = createTokenVerifier([{ issuer: idp.issuer, audience: AUD }], { fetchTimeoutMs: 150, jwksCooldownMs: 0 });
    const token = await signTestToken(keys[0]!, { iss: idp.issuer, aud: AUD, sub: 'u1' });
    idp.setHang(true);
    await expectDenied(verifier.verify(token), 'ERR_IDENTITY_JWKS_UNAVAILABLE', token);
    idp.setHang(false);
    await expect(verifier.verify(token)).resolves.toMatchObject({ sub: 'u1' });
  });

  it('refuses a discovery document naming another issuer', async () => {
    const { idp, keys } = await issuerWith('k1');
    const configured = `${idp.issuer}/`; // discovery answers without the slash: not the same issuer
    const verifier = createTokenVerifier([{ issuer: configured, audience: AUD }]);
    const token = await signTestToken(keys[0]!, { iss: configured, aud: AUD, sub: 'u1' });
    await expectDenied(verifier.verify(token), 'ERR_IDENTITY_JWKS_UNAVAILABLE', token);
  });

  it('refuses when the JWKS answers 404 or the host refuses connections', async () => {
    const { idp, keys } = await issuerWith('k1');
    const token = await signTestToken(keys[0]!, { iss: idp.issuer, aud: AUD, sub: 'u1' });
    const wrongPath = createTokenVerifier([{ issuer: idp.issuer, audience: AUD, jwksUri: `${idp.issuer}/nope` }]);
    await expectDenied(wrongPath.verify(token), 'ERR_IDENTITY_JWKS_UNAVAILABLE', token);
    await idp.close();
    const closedHost = createTokenVerifier([{ issuer: idp.issuer, audience: AUD, jwksUri: idp.jwksUri }]);
    await expectDenied(closedHost.verify(token), 'ERR_IDENTITY_JWKS_UNAVAILABLE', token);
  });

  it('stops verifying after close()', async () => {
    const { idp, keys } = await issuerWith('k1');
    const verifier = createTokenVerifier([{ issuer: idp.issuer, audience: AUD, jwksUri: idp.jwksUri }]);
    const token = await signTestToken(keys[0]!, { iss: idp.issuer, aud: AUD, sub: 'u1' });
    await expect(verifier.verify(token)).resolves.toMatchObject({ sub: 'u1' });
    verifier.close();
    await expectDenied(verifier.verify(token), 'ERR_IDENTITY_JWKS_UNAVAILABLE', token);
  });
});

describe('key rotation', () => {
  it('accepts a new kid once the JWKS has it, refetching at most once per cooldown', async () => {
    const { idp, keys } = await issuerWith('old');
    const fresh = await createTestKey('new');
    const verifier = createTokenVerifier([{ issuer: idp.issuer, audience: AUD, jwksUri: idp.jwksUri }], { jwksCooldownMs: 300 });
    const claims = { iss: idp.issuer, aud: AUD, sub: 'u1' };
    await expect(verifier.verify(await signTestToken(keys[0]!, claims))).resolves.toBeDefined();
    expect(idp.jwksRequests()).toBe(1);

    idp.setKeys([keys[0]!, fresh]);
    const rotated = await signTestToken(fresh, claims);
    // Inside the cooldown: an unknown kid does not trigger a fetch, however many arrive.
    for (let i = 0; i < 5; i += 1) await expectDenied(verifier.verify(rotated), 'ERR_IDENTITY_KEY_NOT_FOUND', rotated);
    expect(idp.jwksRequests()).toBe(1);

    await sleep(350);
    await expect(verifier.verify(rotated)).resolves.toMatchObject({ sub: 'u1' });
    expect(idp.jwksRequests()).toBe(2);
  });

  it('refuses a removed kid once the cached JWKS is refreshed, and a fresh verifier refuses it at once', async () => {
    const { idp, keys } = await issuerWith('old', 'new');
    const [old, current] = [keys[0]!, keys[1]!];
    const options = { jwksCooldownMs: 100, jwksCacheMaxAgeMs: 300 };
    const verifier = createTokenVerifier([{ issuer: idp.issuer, audience: AUD, jwksUri: idp.jwksUri }], options);
    const claims = { iss: idp.issuer, aud: AUD, sub: 'u1' };
    const oldToken = await signTestToken(old, claims);
    await expect(verifier.verify(oldToken)).resolves.toBeDefined();

    idp.setKeys([current]);
    const fresh = createTokenVerifier([{ issuer: idp.issuer, audience: AUD, jwksUri: idp.jwksUri }]);
    await expectDenied(fresh.verify(oldToken), 'ERR_IDENTITY_KEY_NOT_FOUND', oldToken);

    await sleep(350);
    await expectDenied(verifier.verify(oldToken), 'ERR_IDENTITY_KEY_NOT_FOUND', oldToken);
    await expect(verifier.verify(await signTestToken(current, claims))).resolves.toBeDefined();
  });
});
