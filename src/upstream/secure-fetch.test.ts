/**
 * The secure fetch: the address checked is the address used (a name that answers a public
 * address, then a private one, is refused at the connection), literal private addresses are
 * refused, and a loopback destination may be allowed explicitly.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBlockedAddress } from '../protect/index.js';
import { createSecureFetch } from './secure-fetch.js';
import { pinOrBlocked } from './model-providers.js';

describe('createSecureFetch', () => {
  let server: http.Server;
  let port: number;
  beforeAll(async () => {
    server = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('checks the address at connection time and connects to it, one lookup per connection: a name resolving to a private address is refused (no rebinding window)', async () => {
    const answers = [[{ address: '127.0.0.1', family: 4 }]];
    const lookups: string[] = [];
    const f = createSecureFetch({
      isBlockedAddress,
      resolve: async (host) => {
        lookups.push(host);
        return answers.shift() ?? [];
      },
    });
    const err = await f(`http://rebind.test:${port}/`).catch((e: unknown) => e);
    expect(pinOrBlocked(err)).toBe('ERR_UPSTREAM_ADDRESS_BLOCKED');
    expect(lookups).toEqual(['rebind.test']);
    await f.close();
  });

  it('reaches a private address only when the destination allows it, through the one lookup', async () => {
    const allowed = createSecureFetch({
      isBlockedAddress,
      connection: { allowPrivateAddress: true },
      resolve: async () => [{ address: '127.0.0.1', family: 4 }],
    });
    expect(await (await allowed(`http://internal.test:${port}/`)).text()).toBe('ok');
    await allowed.close();
    const literal = createSecureFetch({ isBlockedAddress });
    await expect(literal(`http://127.0.0.1:${port}/`)).rejects.toMatchObject({ code: 'ERR_UPSTREAM_ADDRESS_BLOCKED' });
    await literal.close();
  });
});
