import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { JSONRPCMessage, JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { SessionTransport, directShape } from './plain-json.js';
import type { ToolCallHandler } from './session-kit.js';

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

describe('SessionTransport.handleDirect (a plain tools/call run with the Server handler, without the Server)', () => {
  type Extra = Parameters<ToolCallHandler>[1];
  const res = (): ServerResponse => Object.assign(new EventEmitter(), { destroyed: false, writableEnded: false }) as unknown as ServerResponse;

  it('answers with the result as the Server would, never through the Server or the SDK transport', async () => {
    const { transport, sent, received } = await connected();
    let seen: { request: unknown; extra: Extra } | undefined;
    const callTool: ToolCallHandler = async (request, extra) => {
      seen = { request, extra };
      expect(transport.accepts(7)).toBe(false); // in flight: the same id again takes the SDK path
      return { content: [{ type: 'text', text: 'hi' }] };
    };
    const auth = { token: 't', clientId: 'c', scopes: [] };
    const answer = await transport.handleDirect(call, { authInfo: auth }, res(), callTool);
    expect(answer).toEqual({ result: { content: [{ type: 'text', text: 'hi' }] }, jsonrpc: '2.0', id: 7 });
    expect(JSON.stringify(answer)).toBe('{"result":{"content":[{"type":"text","text":"hi"}]},"jsonrpc":"2.0","id":7}'); // the Server's key order
    expect(seen?.request).toMatchObject({ params: { name: 'fs__read', arguments: {} } });
    expect(seen?.extra).toMatchObject({ authInfo: auth, requestId: 7 });
    expect(seen?.extra.signal.aborted).toBe(false);
    expect(received).toEqual([]);
    expect(sent).toEqual([]);
    expect(transport.accepts(7)).toBe(true);
  });

  it('turns a thrown error into the JSON-RPC error the Server sends (code and data kept; no code: internal error)', async () => {
    const { transport } = await connected();
    const rpc = await transport.handleDirect(call, {}, res(), async () => {
      throw new McpError(-32602, 'Invalid arguments', { code: 'ERR_INPUT_INVALID' });
    });
    expect(rpc).toEqual({
      jsonrpc: '2.0',
      id: 7,
      error: { code: -32602, message: 'MCP error -32602: Invalid arguments', data: { code: 'ERR_INPUT_INVALID' } },
    });
    const internal = await transport.handleDirect(call, {}, res(), async () => {
      throw new Error('boom');
    });
    expect(internal).toEqual({ jsonrpc: '2.0', id: 7, error: { code: -32603, message: 'boom' } });
  });

  it('is aborted by a notifications/cancelled for its id (which the Server still sees), and then answers nothing', async () => {
    const { transport, received } = await connected();
    const http = transport.http as unknown as { onmessage: (m: JSONRPCMessage) => void };
    let signal: AbortSignal | undefined;
    let release!: () => void;
    const started = new Promise<void>((r) => (release = r));
    const answer = transport.handleDirect(call, {}, res(), (_request, extra) => {
      signal = extra.signal;
      release();
      return new Promise((_, reject) => extra.signal.addEventListener('abort', () => reject(new Error('cancelled'))));
    });
    await started;
    const cancel: JSONRPCMessage = { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 8, reason: 'other' } };
    http.onmessage(cancel);
    expect(signal?.aborted).toBe(false); // another request's cancellation
    http.onmessage({ ...cancel, params: { requestId: 7, reason: 'user stopped it' } });
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBe('user stopped it');
    await expect(answer).resolves.toBeUndefined();
    expect(received.map((m) => (m as unknown as { params: { requestId: number } }).params.requestId)).toEqual([8, 7]);
  });

  it('is aborted when the session closes, as the Server aborts its handlers', async () => {
    const { transport } = await connected();
    let signal: AbortSignal | undefined;
    const answer = transport.handleDirect(call, {}, res(), (_request, extra) => {
      signal = extra.signal;
      return new Promise((_, reject) => extra.signal.addEventListener('abort', () => reject(new Error('closed'))));
    });
    await transport.close();
    expect(signal?.aborted).toBe(true);
    await expect(answer).resolves.toBeUndefined();
  });

  it('drops the answer when the client left before it was ready', async () => {
    const { transport } = await connected();
    const gone = Object.assign(new EventEmitter(), { destroyed: true, writableEnded: false }) as unknown as ServerResponse;
    await expect(transport.handleDirect(call, {}, gone, async () => ({ content: [] }))).resolves.toBeUndefined();
  });
});

describe('directShape', () => {
  const withParams = (params: unknown): JSONRPCRequest => ({ ...call, params: params as JSONRPCRequest['params'] });
  it('takes a tools/call the Server would take as it is', () => {
    expect(directShape(call)).toBe(true);
    expect(directShape(withParams({ name: 'fs__read' }))).toBe(true);
    expect(directShape(withParams({ name: 'fs__read', arguments: { a: 1 }, _meta: { 'x/y': 1 } }))).toBe(true);
  });
  it('leaves anything else to the Server (its parse and its errors)', () => {
    for (const params of [
      undefined,
      [],
      { arguments: {} },
      { name: 3 },
      { name: 'a', arguments: [] },
      { name: 'a', arguments: null },
      { name: 'a', _meta: 'x' },
      { name: 'a', task: {} },
    ])
      expect(directShape(withParams(params)), JSON.stringify(params)).toBe(false);
  });
});
