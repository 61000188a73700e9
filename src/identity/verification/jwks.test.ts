import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createTokenVerifier } from '../index.js';
import { expectDenied } from '../expect-denied.test-support.js';
import { createTestKey, signTestToken, startTestIssuer } from '../issuer.test-support.js';
import type { TestIssuer } from '../issuer.test-support.js';

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
    expect(elapsed).toBeLessThan(5000); // a hang would never end; the margin is for a loaded CI machine
  });

  it('denies within the timeout when discovery hangs', async () => {
    const { idp, keys } = await issuerWith('k1');
    idp.setHang(true);
    const verifier = createTokenVerifier([{ issuer: idp.issuer, audience: AUD }], { fetchTimeoutMs: 300 });
    const token = await signTestToken(keys[0]!, { iss: idp.issuer, aud: AUD, sub: 'u1' });
    const started = Date.now();
    await expectDenied(verifier.verify(token), 'ERR_IDENTITY_JWKS_UNAVAILABLE', token);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('denies while the issuer hangs, and the same verifier recovers once it answers', async () => {
    const { idp, keys } = await issuerWith('k1');
    const verifier = createTokenVerifier([{ issuer: idp.issuer, audience: AUD }], { fetchTimeoutMs: 150, jwksCooldownMs: 0, jwksFailureRetryMs: 0 });
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

describe('negative JWKS cache (issue 7, defect 7: a hanging JWKS made every new token wait the full timeout)', () => {
  // Long enough that "at once" (under half of it) holds on a loaded CI machine.
  const TIMEOUT_MS = 3000;

  async function hangingIssuer() {
    const { idp, keys } = await issuerWith('k1');
    idp.setHang(true);
    let offset = 0;
    const verifier = createTokenVerifier([{ issuer: idp.issuer, audience: AUD, jwksUri: idp.jwksUri }], {
      fetchTimeoutMs: TIMEOUT_MS,
      clock: () => Date.now() + offset,
    });
    const tokenFor = (sub: string) => signTestToken(keys[0]!, { iss: idp.issuer, aud: AUD, sub });
    return { idp, verifier, tokenFor, advance: (ms: number) => (offset += ms) };
  }

  it('refuses the next token at once, without fetching, while the failure is remembered', async () => {
    const { idp, verifier, tokenFor } = await hangingIssuer();
    const first = await tokenFor('u1');
    await expectDenied(verifier.verify(first), 'ERR_IDENTITY_JWKS_UNAVAILABLE', first);
    expect(idp.jwksAttempts()).toBe(1);

    const second = await tokenFor('u2');
    const started = Date.now();
    const err = await expectDenied(verifier.verify(second), 'ERR_IDENTITY_JWKS_UNAVAILABLE', second);
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS / 2);
    expect(err.detail).toMatchObject({ retry_after_ms: expect.any(Number) });
    for (let i = 0; i < 20; i += 1) await expectDenied(verifier.verify(second), 'ERR_IDENTITY_JWKS_UNAVAILABLE', second);
    expect(idp.jwksAttempts()).toBe(1);
  });

  it('lets one request retry after the window (default 5 s), and recovers when the issuer answers', async () => {
    const { idp, verifier, tokenFor, advance } = await hangingIssuer();
    const token = await tokenFor('u1');
    await expectDenied(verifier.verify(token), 'ERR_IDENTITY_JWKS_UNAVAILABLE', token);
    advance(4900);
    await expectDenied(verifier.verify(token), 'ERR_IDENTITY_JWKS_UNAVAILABLE', token);
    expect(idp.jwksAttempts()).toBe(1);

    advance(200);
    // The probe waits on the hanging issuer; the requests that arrive meanwhile fail fast.
    const other = await tokenFor('u2');
    const probe = verifier.verify(token);
    const started = Date.now();
    await expectDenied(verifier.verify(other), 'ERR_IDENTITY_JWKS_UNAVAILABLE', other);
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS / 2);
    await expectDenied(probe, 'ERR_IDENTITY_JWKS_UNAVAILABLE', token);
    expect(idp.jwksAttempts()).toBe(2);

    idp.setHang(false);
    advance(5100);
    await expect(verifier.verify(token)).resolves.toMatchObject({ sub: 'u1' });
    await expect(verifier.verify(await tokenFor('u3'))).resolves.toMatchObject({ sub: 'u3' });
    expect(idp.jwksAttempts()).toBe(3);
  });

  it('remembers a failed discovery the same way', async () => {
    const { idp, keys } = await issuerWith('k1');
    idp.setHang(true);
    const verifier = createTokenVerifier([{ issuer: idp.issuer, audience: AUD }], { fetchTimeoutMs: TIMEOUT_MS, jwksFailureRetryMs: 60_000 });
    const token = await signTestToken(keys[0]!, { iss: idp.issuer, aud: AUD, sub: 'u1' });
    await expectDenied(verifier.verify(token), 'ERR_IDENTITY_JWKS_UNAVAILABLE', token);
    const started = Date.now();
    await expectDenied(verifier.verify(token), 'ERR_IDENTITY_JWKS_UNAVAILABLE', token);
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS / 2);
  });

  it('does not remember an unknown kid as an outage', async () => {
    const { idp, keys } = await issuerWith('k1');
    const stranger = await createTestKey('k2');
    const verifier = createTokenVerifier([{ issuer: idp.issuer, audience: AUD, jwksUri: idp.jwksUri }], { jwksCooldownMs: 0 });
    const claims = { iss: idp.issuer, aud: AUD, sub: 'u1' };
    const unknown = await signTestToken(stranger, claims);
    await expectDenied(verifier.verify(unknown), 'ERR_IDENTITY_KEY_NOT_FOUND', unknown);
    await expect(verifier.verify(await signTestToken(keys[0]!, claims))).resolves.toMatchObject({ sub: 'u1' });
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
