import { describe, expect, it } from 'vitest';
import type { Principal } from '../../kernel/index.js';
import { rememberPresentedToken } from '../verification/presented-token.js';
import { createIdpExchange } from './idp-exchange.js';

const ISS = 'https://idp.example.test';
const user = (): Principal => ({ sub: 'alice', iss: ISS, roles: [], groups: [] });
const json = (status: number, body: unknown): Response => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('RFC 8693 exchange at the user IdP', () => {
  it('posts the presented token as subject with client_secret_basic and the audience; returns the token and its expiry', async () => {
    const seen: { url: string; init: RequestInit }[] = [];
    const fetch = async (url: string | URL, init?: RequestInit) => {
      seen.push({ url: String(url), init: init! });
      return String(url).endsWith('/openid-configuration')
        ? json(200, { token_endpoint: `${ISS}/token` })
        : json(200, { access_token: 'exchanged', token_type: 'Bearer', expires_in: 300 });
    };
    const exchange = createIdpExchange([{ issuer: ISS, clientId: 'custos', clientSecret: 's3cret', fetch }]);
    const alice = user();
    rememberPresentedToken(alice, 'the-user-token');
    expect(await exchange(alice, 'https://records.test/mcp', 1000)).toEqual({ token: 'exchanged', expiresAt: 1300 });
    const post = seen.at(-1)!;
    expect(post.url).toBe(`${ISS}/token`);
    expect(new Headers(post.init.headers).get('authorization')).toBe(`Basic ${Buffer.from('custos:s3cret').toString('base64')}`);
    const form = new URLSearchParams(String(post.init.body));
    expect(Object.fromEntries(form)).toMatchObject({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: 'the-user-token',
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      audience: 'https://records.test/mcp',
    });
  });

  it('fails closed with the reason and never a token or secret', async () => {
    const refusing = async () => json(400, { error: 'invalid_target', error_description: 'the-user-token' });
    const exchange = createIdpExchange([{ issuer: ISS, clientId: 'custos', clientSecret: 's3cret', tokenEndpoint: `${ISS}/token`, fetch: refusing }]);
    const alice = user();
    rememberPresentedToken(alice, 'the-user-token');
    const refused = exchange(alice, 'urn:x', 0);
    await expect(refused).rejects.toMatchObject({
      code: 'ERR_UPSTREAM_IDENTITY_UNAVAILABLE',
      message: expect.stringContaining('refused the token exchange for urn:x: invalid_target'),
    });
    await expect(refused).rejects.not.toMatchObject({ message: expect.stringMatching(/the-user-token|s3cret/) });
    await expect(exchange(user(), 'urn:x', 0)).rejects.toMatchObject({ message: expect.stringContaining("is not a token of the user's IdP") });
    await expect(exchange({ ...user(), iss: 'https://other.test' }, 'urn:x', 0)).rejects.toMatchObject({
      message: expect.stringContaining('no tokenExchange client'),
    });
    const down = createIdpExchange([{ issuer: ISS, clientId: 'c', clientSecret: 's', fetch: () => Promise.reject(new TypeError('fetch failed')) }]);
    await expect(down(alice, 'urn:x', 0)).rejects.toMatchObject({ message: expect.stringContaining('is unreachable') });
    const empty = createIdpExchange([
      { issuer: ISS, clientId: 'c', clientSecret: 's', tokenEndpoint: `${ISS}/token`, fetch: async () => json(200, { token_type: 'Bearer' }) },
    ]);
    await expect(empty(alice, 'urn:x', 0)).rejects.toMatchObject({ message: expect.stringContaining('without a usable bearer token') });
  });
});
