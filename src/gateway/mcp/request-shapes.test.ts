import { describe, expect, it } from 'vitest';
import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import type { JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import { refuseMalformedRequest } from './request-shapes.js';

const request = (method: string, params?: unknown): JSONRPCRequest =>
  ({ jsonrpc: '2.0', id: 7, method, ...(params === undefined ? {} : { params }) }) as JSONRPCRequest;

describe('malformed requests of MCP methods', () => {
  it.each([
    ['logging/setLevel', undefined, 'params'],
    ['logging/setLevel', { level: 'loud' }, 'params.level'],
    ['tools/call', { name: 42 }, 'params.name'],
    ['resources/read', {}, 'params.uri'],
    ['prompts/get', { name: ['x'] }, 'params.name'],
  ])('%s %j: -32602 naming %s, never -32603', (method, params, where) => {
    expect(refuseMalformedRequest(request(method, params))).toEqual({
      jsonrpc: '2.0',
      id: 7,
      error: { code: ErrorCode.InvalidParams, message: `Invalid ${method} request: ${where} does not match the MCP schema.` },
    });
  });

  it('passes well-formed requests and methods MCP does not define (the Server answers those -32601)', () => {
    expect(refuseMalformedRequest(request('ping'))).toBeUndefined();
    expect(refuseMalformedRequest(request('logging/setLevel', { level: 'debug' }))).toBeUndefined();
    expect(refuseMalformedRequest(request('tools/call', { name: 'fs__read', arguments: { path: '/x' } }))).toBeUndefined();
    expect(refuseMalformedRequest(request('no/such/method', 'anything'))).toBeUndefined();
  });

  it('names the schema path, never a value the client sent', () => {
    const refused = refuseMalformedRequest(request('tools/call', { name: { secret: 'SSN 123-45-6789' } }));
    expect(JSON.stringify(refused)).not.toContain('123-45-6789');
  });
});
