import { describe, expect, it } from 'vitest';
import { formatSse, parseSse } from './sse.js';

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield new TextEncoder().encode(p);
}

async function collect(body: AsyncIterable<Uint8Array>, max?: number) {
  const out = [];
  for await (const e of parseSse(body, max)) out.push(e);
  return out;
}

describe('parseSse', () => {
  it('parses events split anywhere across chunks, CRLF, comments, multi-line data, and a last event without a blank line', async () => {
    const events = await collect(chunks('event: message_start\r\ndata: {"a"', ':1}\r\n\r\n: ping\n\ndata: x\ndata: y\n\n', 'data: [DONE]'));
    expect(events).toEqual([{ event: 'message_start', data: '{"a":1}' }, { data: 'x\ny' }, { data: '[DONE]' }]);
    expect(events.map(formatSse).join('')).toBe('event: message_start\ndata: {"a":1}\n\ndata: x\ndata: y\n\ndata: [DONE]\n\n');
  });

  it('refuses an event past the size it inspects', async () => {
    await expect(collect(chunks('data: ' + 'x'.repeat(100)), 50)).rejects.toMatchObject({ code: 'ERR_INPUT_TOO_COMPLEX' });
  });
});
