import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { CustosRejectedError, CustosUnavailableError } from './errors.js';
import { requestJson } from './http.js';

async function serve(status: number, body: unknown): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((_req, res) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) };
}

describe('requests to Custos', () => {
  it('turns a refused connection into CUSTOS_UNAVAILABLE (unreachable)', async () => {
    const gone = await serve(200, {});
    await gone.close();
    const err = await requestJson({ baseUrl: gone.url, timeoutMs: 2000, fetch }, '/v1/authorize', 't', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CustosUnavailableError);
    expect(err).toMatchObject({ code: 'CUSTOS_UNAVAILABLE', reason: 'unreachable' });
  });

  it('turns a 4xx into CUSTOS_REJECTED with the server code, never echoing the token', async () => {
    const s = await serve(401, { error: { code: 'ERR_IDENTITY_TOKEN_EXPIRED', message: 'The token has expired.' } });
    try {
      const err = (await requestJson({ baseUrl: s.url, timeoutMs: 2000, fetch }, '/v1/authorize', 'secret-token-value', {}).catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(CustosRejectedError);
      expect(err).toMatchObject({ code: 'CUSTOS_REJECTED', status: 401, serverCode: 'ERR_IDENTITY_TOKEN_EXPIRED' });
      expect(err.message).not.toContain('secret-token-value');
    } finally {
      await s.close();
    }
  });
});
