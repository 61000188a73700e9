/** OpenID Connect Back-Channel Logout 1.0 §2.6, one negative case per rule. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import type { JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustosError } from '../../kernel/index.js';
import { createTestKey, startTestIssuer } from '../issuer.test-support.js';
import type { TestIssuer, TestKey } from '../issuer.test-support.js';
import { createLogoutVerifier, LOGOUT_EVENT } from './logout-token.js';
import type { LogoutVerifier } from './logout-token.js';
import { openSqliteSessionStore } from './sqlite-store.js';
import type { SessionStore } from './types.js';

const CLIENT = 'custos-client';
let key: TestKey;
let other: TestKey;
let idp: TestIssuer;
let store: SessionStore;
let verifier: LogoutVerifier;
let dir: string;

beforeAll(async () => {
  key = await createTestKey('k1');
  other = await createTestKey('k2');
  idp = await startTestIssuer([key]);
  dir = mkdtempSync(path.join(tmpdir(), 'custos-logout-'));
  store = openSqliteSessionStore(path.join(dir, 's.sqlite'));
  verifier = createLogoutVerifier({ issuers: [{ issuer: idp.issuer, jwksUri: idp.jwksUri, backchannelClientId: CLIENT, algorithms: ['ES256'] }], store });
});
afterAll(async () => {
  await store.close();
  await idp.close();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
function claims(over: JWTPayload = {}): JWTPayload {
  return {
    iss: idp.issuer,
    aud: CLIENT,
    iat: Math.floor(Date.now() / 1000),
    jti: `jti-${++n}`,
    sid: `sid-${n}`,
    sub: 'alice',
    events: { [LOGOUT_EVENT]: {} },
    ...over,
  };
}
async function sign(payload: JWTPayload, k: TestKey = key, typ = 'logout+jwt'): Promise<string> {
  const clean = Object.fromEntries(Object.entries(payload).filter(([, v]) => v !== undefined));
  return new SignJWT(clean).setProtectedHeader({ alg: 'ES256', kid: k.kid, typ }).sign(k.privateKey);
}

describe('back-channel logout token', () => {
  it('revokes the named session', async () => {
    const c = claims();
    const out = await verifier.logout(await sign(c));
    expect(out).toMatchObject({ iss: idp.issuer, sid: c.sid, sub: 'alice' });
    expect((await store.revocation(idp.issuer, 'alice', String(c.sid))).sessionRevokedAt).toBeTypeOf('number');
  });

  it('revokes every session of the user when only sub is given', async () => {
    await verifier.logout(await sign(claims({ sid: undefined, sub: 'bob' })));
    expect((await store.revocation(idp.issuer, 'bob', undefined)).userRevokedAt).toBeTypeOf('number');
  });

  it('refuses a replayed jti', async () => {
    const token = await sign(claims());
    await verifier.logout(token);
    await expect(verifier.logout(token)).rejects.toMatchObject({ code: 'ERR_IDENTITY_CLAIM_INVALID', message: expect.stringContaining('jti') });
  });

  it('takes the same token again when its row could not be written (a store down), and refuses it once completed', async () => {
    const token = await sign(claims());
    const down = new CustosError('ERR_AUDIT_UNAVAILABLE');
    await expect(verifier.logout(token, () => Promise.reject(down))).rejects.toBe(down);
    const rows: string[] = [];
    await verifier.logout(token, async (out) => void rows.push(out.jti)); // the IdP's second delivery
    expect(rows).toHaveLength(1);
    await expect(verifier.logout(token)).rejects.toMatchObject({ message: expect.stringContaining('jti') });
  });

  it('takes the same token again when the revocation could not be stored', async () => {
    let failing = true;
    const flaky: SessionStore = new Proxy(store, {
      get: (target, p) =>
        p === 'revokeSession' && failing ? () => Promise.reject(new CustosError('ERR_IDENTITY_SESSION_STORE_UNAVAILABLE')) : Reflect.get(target, p),
    });
    const v = createLogoutVerifier({
      issuers: [{ issuer: idp.issuer, jwksUri: idp.jwksUri, backchannelClientId: CLIENT, algorithms: ['ES256'] }],
      store: flaky,
    });
    const c = claims();
    const token = await sign(c);
    await expect(v.logout(token)).rejects.toMatchObject({ code: 'ERR_IDENTITY_SESSION_STORE_UNAVAILABLE' });
    failing = false;
    await v.logout(token);
    expect((await store.revocation(idp.issuer, 'alice', String(c.sid))).sessionRevokedAt).toBeTypeOf('number');
  });

  const cases: Array<[string, () => Promise<string>]> = [
    ['a signature by an unknown key', async () => sign(claims(), other)],
    ['another audience', async () => sign(claims({ aud: 'someone-else' }))],
    ['another issuer', async () => sign(claims({ iss: 'https://evil.example' }))],
    ['no iat', async () => sign(claims({ iat: undefined }))],
    ['no jti', async () => sign(claims({ jti: undefined }))],
    ['no events', async () => sign(claims({ events: undefined }))],
    ['the wrong event', async () => sign(claims({ events: { 'http://schemas.openid.net/event/other': {} } }))],
    ['neither sid nor sub', async () => sign(claims({ sid: undefined, sub: undefined }))],
    ['a nonce', async () => sign(claims({ nonce: 'n' }))],
    ['an iat too old', async () => sign(claims({ iat: Math.floor(Date.now() / 1000) - 3600 }))],
    ['an expired exp', async () => sign(claims({ exp: Math.floor(Date.now() / 1000) - 600 }))],
    ['not a JWT', async () => 'not.a.jwt'],
  ];
  for (const [name, make] of cases) {
    it(`refuses ${name}`, async () => {
      await expect(verifier.logout(await make())).rejects.toMatchObject({ code: 'ERR_IDENTITY_CLAIM_INVALID' });
    });
  }

  it('refuses tokens of an issuer without a configured back-channel client id', async () => {
    const bare = createLogoutVerifier({ issuers: [{ issuer: idp.issuer, jwksUri: idp.jwksUri }], store });
    await expect(bare.logout(await sign(claims()))).rejects.toMatchObject({ code: 'ERR_IDENTITY_CLAIM_INVALID' });
  });
});
