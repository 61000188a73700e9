import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheTtlSec, CLIENT_METADATA_MAX_BYTES, createClientMetadataResolver } from './client-metadata.js';

describe('client ID metadata documents (dev provider)', () => {
  let base = '';
  let hits = 0;
  let cacheControl = 'max-age=60';
  const server = createServer((req, res) => {
    hits += 1;
    const url = `${base}${req.url}`;
    if (req.url === '/big.json') return void res.end(JSON.stringify({ client_id: url, pad: 'x'.repeat(CLIENT_METADATA_MAX_BYTES) }));
    res
      .writeHead(200, { 'cache-control': cacheControl })
      .end(JSON.stringify({ client_id: url, redirect_uris: ['http://127.0.0.1/cb'], grant_types: ['implicit'] }));
  });
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => void server.close());

  it('reads Cache-Control: no-store/no-cache, max-age capped at a day, else 5 minutes', () => {
    expect(cacheTtlSec('no-store')).toBe(0);
    expect(cacheTtlSec('public, no-cache')).toBe(0);
    expect(cacheTtlSec('max-age=30')).toBe(30);
    expect(cacheTtlSec('max-age=999999')).toBe(86400);
    expect(cacheTtlSec(undefined)).toBe(300);
  });

  it('builds a public code-grant client and caches it for max-age by the injected clock', async () => {
    let now = 0;
    const resolve = createClientMetadataResolver({ now: () => now });
    hits = 0;
    const client = await resolve(`${base}/a.json`);
    expect(client).toEqual({
      client_id: `${base}/a.json`,
      redirect_uris: ['http://127.0.0.1/cb'],
      grant_types: ['authorization_code'], // implicit dropped
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    });
    await resolve(`${base}/a.json`);
    expect(hits).toBe(1);
    now = 61_000;
    await resolve(`${base}/a.json`);
    expect(hits).toBe(2);
    cacheControl = 'no-store';
    await resolve(`${base}/b.json`);
    await resolve(`${base}/b.json`);
    expect(hits).toBe(4);
  });

  it('refuses http off loopback, a root path, a non-normal URL and a document over 5 KB', async () => {
    const resolve = createClientMetadataResolver();
    await expect(resolve('http://client.example/meta.json')).rejects.toMatchObject({
      error: 'invalid_client',
      error_description: expect.stringContaining('client_id must be an https URL'),
    });
    await expect(resolve('https://client.example/')).rejects.toMatchObject({
      error: 'invalid_client',
      error_description: expect.stringContaining('must have a path'),
    });
    await expect(resolve('https://CLIENT.example/a/../b.json')).rejects.toMatchObject({
      error: 'invalid_client',
      error_description: expect.stringContaining('not in normal form'),
    });
    await expect(resolve(`${base}/big.json`)).rejects.toMatchObject({
      error: 'invalid_client',
      error_description: expect.stringContaining(`larger than ${CLIENT_METADATA_MAX_BYTES} bytes`),
    });
  });
});
