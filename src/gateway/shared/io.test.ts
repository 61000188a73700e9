import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { readBody } from './io.js';

function request(chunks: string[], headers: Record<string, string> = {}): IncomingMessage & Readable {
  const req = Readable.from(chunks.map((c) => Buffer.from(c))) as unknown as IncomingMessage & Readable;
  Object.assign(req, { headers });
  return req;
}

describe('readBody', () => {
  it('joins the chunks', async () => {
    expect((await readBody(request(['{"a":', '1}']), 100)).toString()).toBe('{"a":1}');
  });

  it('refuses a declared length past the limit without reading', async () => {
    await expect(readBody(request(['x'], { 'content-length': '101' }), 100)).rejects.toMatchObject({ code: 'ERR_GATEWAY_PAYLOAD_TOO_LARGE' });
  });

  it('refuses a body that grows past the limit and destroys the request', async () => {
    const req = request(['x'.repeat(60), 'y'.repeat(60)]);
    await expect(readBody(req, 100)).rejects.toMatchObject({ code: 'ERR_GATEWAY_PAYLOAD_TOO_LARGE' });
    expect(req.destroyed).toBe(true);
  });

  it('fails, not hangs, when the request closes before its end', async () => {
    const req = new Readable({ read: () => undefined }) as unknown as IncomingMessage & Readable;
    Object.assign(req, { headers: {} });
    const body = readBody(req, 100);
    req.push(Buffer.from('{"a":'));
    req.destroy();
    await expect(body).rejects.toMatchObject({ code: 'ERR_GATEWAY_BAD_REQUEST' });
  });

  it('passes on a stream error', async () => {
    const req = new Readable({ read: () => undefined }) as unknown as IncomingMessage & Readable;
    Object.assign(req, { headers: {} });
    const body = readBody(req, 100);
    req.destroy(new Error('boom'));
    await expect(body).rejects.toThrow('boom');
  });
});
