import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../kernel/index.js';
import { expectDenied } from '../expect-denied.test-support.js';
import { createSigningKeyStore } from './signing-keys.js';
import { mintDelegationToken } from './custos-tokens.js';
import { verifyDelegationToken } from './delegation-verifier.js';

const ISSUER = 'http://custos.test';
const AUDIENCE = 'http://custos.test/mcp';
const alice: Principal = { sub: 'alice', iss: 'http://idp.test', roles: ['clinician'], groups: [], sessionId: 's1' };

describe('Custos signing keys and rotation by kid', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('verifies tokens of the new kid and the old kid after a rotation, and refuses the old one once removed', async () => {
    let now = Date.now();
    const keys = await createSigningKeyStore({ retainSec: 600, clock: () => now });
    const ctx = { keys, issuer: ISSUER, clockSkewSec: 60, clock: () => now, audience: AUDIENCE };
    const claims = { user: alice, actors: ['agent-a'], credential: 'delegation' as const, expiresAt: Math.floor(now / 1000) + 300 };
    const old = await mintDelegationToken(ctx, AUDIENCE, claims);
    const oldKid = keys.jwks().keys[0]!.kid!;
    const newKid = await keys.rotate();
    expect(newKid).not.toBe(oldKid);
    const fresh = await mintDelegationToken(ctx, AUDIENCE, claims);
    expect(JSON.parse(Buffer.from(fresh.token.split('.')[0]!, 'base64url').toString()).kid).toBe(newKid);
    expect(
      keys
        .jwks()
        .keys.map((k) => k.kid)
        .sort(),
    ).toEqual([oldKid, newKid].sort());
    await expect(verifyDelegationToken(ctx, fresh.token)).resolves.toMatchObject({ sub: 'alice', actors: ['agent-a'], credential: 'delegation' });
    await expect(verifyDelegationToken(ctx, old.token)).resolves.toMatchObject({ sub: 'alice' });

    keys.remove(oldKid);
    await expectDenied(verifyDelegationToken(ctx, old.token), 'ERR_IDENTITY_KEY_NOT_FOUND', old.token);
    await expect(verifyDelegationToken(ctx, fresh.token)).resolves.toMatchObject({ sub: 'alice' });
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([newKid]);

    // A retired key leaves the JWKS by itself once its retention has passed.
    await keys.rotate();
    now += 601_000;
    expect(keys.jwks().keys.map((k) => k.kid)).not.toContain(newKid);
  });

  it('persists keys in a directory (0600) and rotates when the active key is too old', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'custos-keys-'));
    let now = Date.now();
    const first = await createSigningKeyStore({ dir, retainSec: 300, rotateAfterSec: 3600, clock: () => now });
    const kid = (await first.signingKey()).kid;
    const [file] = readdirSync(dir);
    expect(statSync(path.join(dir, file!)).mode & 0o777).toBe(0o600);
    const again = await createSigningKeyStore({ dir, retainSec: 300, rotateAfterSec: 3600, clock: () => now });
    expect((await again.signingKey()).kid).toBe(kid);
    now += 3_601_000;
    const rotated = (await again.signingKey()).kid;
    expect(rotated).not.toBe(kid);
    expect(
      again
        .jwks()
        .keys.map((k) => k.kid)
        .sort(),
    ).toEqual([kid, rotated].sort());
    expect(readdirSync(dir)).toHaveLength(2);
  });

  it('shares a directory between replicas: a kid rotated in elsewhere verifies, a deleted key file is refused at once', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'custos-keys-'));
    let now = Date.now();
    const clock = () => now;
    const a = await createSigningKeyStore({ dir, retainSec: 600, clock });
    const b = await createSigningKeyStore({ dir, retainSec: 600, clock });
    const ctxA = { keys: a, issuer: ISSUER, clockSkewSec: 60, clock, audience: AUDIENCE };
    const ctxB = { ...ctxA, keys: b };
    const claims = { user: alice, actors: ['agent-a'], credential: 'delegation' as const, expiresAt: Math.floor(now / 1000) + 300 };
    const before = await mintDelegationToken(ctxA, AUDIENCE, claims);
    await expect(verifyDelegationToken(ctxB, before.token)).resolves.toMatchObject({ sub: 'alice' });
    const rotated = await a.rotate();
    const after = await mintDelegationToken(ctxA, AUDIENCE, claims);
    now += 5001; // past the reload cooldown
    await expect(verifyDelegationToken(ctxB, after.token)).resolves.toMatchObject({ sub: 'alice' });
    expect(b.jwks().keys.map((k) => k.kid)).toContain(rotated);
    rmSync(path.join(dir, `custos-signing-${rotated}.json`));
    await expectDenied(verifyDelegationToken(ctxB, after.token), 'ERR_IDENTITY_KEY_NOT_FOUND', after.token);
    await expectDenied(verifyDelegationToken(ctxA, after.token), 'ERR_IDENTITY_KEY_NOT_FOUND', after.token);
    expect((await a.signingKey()).kid).not.toBe(rotated);
  });

  it('refuses a key file that is not a key at start', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'custos-keys-'));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path.join(dir, 'custos-signing-x.json'), '{"kid":1}');
    await expectDenied(createSigningKeyStore({ dir, retainSec: 60 }), 'ERR_CONFIG_INVALID', '');
  });

  it('never publishes private key material', async () => {
    for (const algorithm of ['ES256', 'RS256', 'EdDSA'] as const) {
      const keys = await createSigningKeyStore({ algorithm, retainSec: 60 });
      for (const jwk of keys.jwks().keys) {
        for (const field of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(jwk).not.toHaveProperty(field);
        expect(jwk).toMatchObject({ alg: algorithm, use: 'sig' });
      }
    }
  });
});
