import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage, JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { SessionTransport } from './plain-json.js';

/** The SDK transport as SessionTransport uses it: what it was asked to send, and how. */
function fakeHttp(): { http: StreamableHTTPServerTransport; sent: Array<{ message: JSONRPCMessage; related: unknown }> } {
  const sent: Array<{ message: JSONRPCMessage; related: unknown }> = [];
  const http = {
    sessionId: 's-1',
    start: async () => undefined,
    close: async () => undefined,
    send: async (message: JSONRPCMessage, options?: { relatedRequestId?: unknown }) => void sent.push({ message, related: options?.relatedRequestId }),
  };
  return { http: http as unknown as StreamableHTTPServerTransport, sent };
}

const call: JSONRPCRequest = { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'fs__read', arguments: {} } };
const response = (id: number): JSONRPCMessage => ({ jsonrpc: '2.0', id, result: { content: [] } });

async function connected(): Promise<{ transport: SessionTransport; sent: ReturnType<typeof fakeHttp>['sent']; received: JSONRPCMessage[] }> {
  const { http, sent } = fakeHttp();
  const transport = new SessionTransport(http);
  const received: JSONRPCMessage[] = [];
  transport.onmessage = (m) => void received.push(m);
  await transport.start();
  return { transport, sent, received };
}

describe('SessionTransport', () => {
  it('hands a plain request to the Server and resolves with its answer, which never reaches the SDK transport', async () => {
    const { transport, sent, received } = await connected();
    const res = new EventEmitter() as unknown as ServerResponse;
    const answer = transport.handlePlain(call, {}, res);
    expect(received).toEqual([call]);
    expect(transport.accepts(7)).toBe(false); // the same id again takes the SDK path
    await transport.send({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'x' } }, { relatedRequestId: 7 });
    await transport.send(response(7));
    await expect(answer).resolves.toEqual(response(7));
    // the notification went to the SDK transport without the plain request's id (standalone stream)
    expect(sent).toEqual([{ message: expect.objectContaining({ method: 'notifications/message' }), related: undefined }]);
    await transport.send(response(8));
    expect(sent.at(-1)).toEqual({ message: response(8), related: undefined });
    expect(transport.accepts(7)).toBe(true);
  });

  it('drops the late answer of a plain request whose client left, and then forgets it', async () => {
    const { transport, sent } = await connected();
    const res = new EventEmitter() as unknown as ServerResponse;
    const answer = transport.handlePlain(call, {}, res);
    (res as unknown as EventEmitter).emit('close');
    await expect(answer).resolves.toBeUndefined();
    await transport.send(response(7)); // the call ran to its end: its answer is dropped, not handed to the SDK transport
    expect(sent).toEqual([]);
    expect(transport.accepts(7)).toBe(true);
  });
});
