import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it, vi } from 'vitest';
import { createUpstreamTransport } from './client.js';
import { createSilentLogger, createTempDir } from './fakes.test-support.js';
import { StdioUpstreamTransport, jsonRpcShapeError } from './stdio-transport.js';

/** A node script in a temp dir; `body` runs with `out(text)` writing raw text to stdout and `lines(fn)` calling fn per stdin line. */
function script(body: string): string {
  const file = join(createTempDir(), 'server.mjs');
  writeFileSync(
    file,
    `import { createInterface } from 'node:readline';
     const out = (t) => process.stdout.write(t);
     const lines = (fn) => createInterface({ input: process.stdin }).on('line', (l) => fn(JSON.parse(l)));
     ${body}`,
  );
  return file;
}

/** A transport to `node file`, collecting what it delivers. */
function open(file: string, extra: { maxLineBytes?: number } = {}) {
  const messages: JSONRPCMessage[] = [];
  const errors: Error[] = [];
  const stderr: string[] = [];
  let closed = 0;
  const transport = new StdioUpstreamTransport({ command: process.execPath, args: [file], onStderrLine: (l) => stderr.push(l), closeGraceMs: 200, ...extra });
  transport.onmessage = (m) => void messages.push(m);
  transport.onerror = (e) => void errors.push(e);
  transport.onclose = () => void closed++;
  return { transport, messages, errors, stderr, closed: () => closed };
}

const note = (method: string, params: Record<string, unknown> = {}) => JSON.stringify({ jsonrpc: '2.0', method, params });

describe('the stdio upstream transport', () => {
  it('reports a line that is not JSON, or not JSON-RPC, without its content, and keeps reading', async () => {
    const t = open(script(`out('secret-ssn 123-45-6789\\n' + '{"id":1}\\n' + '[1,2]\\n' + ${JSON.stringify(note('after') + '\n')});`));
    await t.transport.start();
    try {
      await vi.waitFor(() => expect(t.messages).toEqual([{ jsonrpc: '2.0', method: 'after', params: {} }]));
      expect(t.errors.map((e) => e.message)).toEqual([
        'upstream stdout line of 22 characters is not JSON',
        'upstream stdout line is not a JSON-RPC message: jsonrpc is not "2.0"',
        'upstream stdout line is not a JSON-RPC message: not a JSON object',
      ]);
      expect(t.errors.join(' ')).not.toContain('123-45');
    } finally {
      await t.transport.close();
    }
  });

  it('joins a line split across chunks, a multi-byte character included', async () => {
    // The first part ends inside the two bytes of "é"; the rest is written only once the test says so.
    const t = open(
      script(`const line = Buffer.from(${JSON.stringify(note('split', { text: 'caf\u00e9 au lait' }) + '\n')});
       const cut = line.indexOf(0xc3) + 1;
       out(line.subarray(0, cut)); console.error('first part written');
       lines(() => out(line.subarray(cut)));`),
    );
    await t.transport.start();
    try {
      await vi.waitFor(() => expect(t.stderr).toContain('first part written'));
      expect(t.messages).toEqual([]);
      await t.transport.send({ jsonrpc: '2.0', method: 'go' });
      await vi.waitFor(() => expect(t.messages).toEqual([{ jsonrpc: '2.0', method: 'split', params: { text: 'caf\u00e9 au lait' } }]));
      expect(t.errors).toEqual([]);
    } finally {
      await t.transport.close();
    }
  });

  it('reads a CRLF-terminated line, and several lines in one chunk', async () => {
    const t = open(script(`out(${JSON.stringify(note('a') + '\r\n' + note('b') + '\n' + note('c') + '\r\n')});`));
    await t.transport.start();
    try {
      await vi.waitFor(() => expect(t.messages.map((m) => (m as { method: string }).method)).toEqual(['a', 'b', 'c']));
      expect(t.errors).toEqual([]);
    } finally {
      await t.transport.close();
    }
  });

  it('reads a 6 MiB line whole', async () => {
    const t = open(script(`out(JSON.stringify({ jsonrpc: '2.0', id: 7, result: { text: 'x'.repeat(6 * 1024 * 1024) } }) + '\\n');`));
    await t.transport.start();
    try {
      await vi.waitFor(() => expect(t.messages).toHaveLength(1), { timeout: 10_000 });
      const result = (t.messages[0] as unknown as { result: { text: string } }).result;
      expect(result.text.length).toBe(6 * 1024 * 1024);
      expect(t.errors).toEqual([]);
    } finally {
      await t.transport.close();
    }
  });

  it('closes the connection on a line past the limit, so no call waits for it', async () => {
    const t = open(script(`out(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { text: 'x'.repeat(5000) } }) + '\\n'); setInterval(() => {}, 1000);`), {
      maxLineBytes: 1000,
    });
    await t.transport.start();
    await vi.waitFor(() => expect(t.closed()).toBe(1), { timeout: 5000 });
    expect(t.errors.map((e) => e.message)).toEqual(['upstream stdout line longer than 1000 bytes; closing the connection']);
    expect(t.messages).toEqual([]);
  });

  it('writes one line per message, and refuses to send when not started or closed', async () => {
    const t = open(script(`lines((m) => out(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { echo: m.params } }) + '\\n'));`));
    await expect(t.transport.send({ jsonrpc: '2.0', method: 'x' })).rejects.toThrow('Not connected');
    await t.transport.start();
    await t.transport.send({ jsonrpc: '2.0', id: 'a', method: 'echo', params: { text: 'line\nbreak' } });
    await vi.waitFor(() => expect(t.messages).toEqual([{ jsonrpc: '2.0', id: 'a', result: { echo: { text: 'line\nbreak' } } }]));
    await t.transport.close();
    expect(t.closed()).toBe(1);
    await expect(t.transport.send({ jsonrpc: '2.0', method: 'x' })).rejects.toThrow('Not connected');
  });

  it('fails a call cleanly when the process exits in the middle of it', async () => {
    const server = script(`lines((m) => {
        if (m.method === 'initialize') out(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'dies', version: '1' } } }) + '\\n');
        if (m.method === 'tools/call') process.exit(3);
      });`);
    const client = new Client({ name: 't', version: '1' });
    const transport = new StdioUpstreamTransport({ command: process.execPath, args: [server] });
    await client.connect(transport);
    const started = Date.now();
    const failure = await client.callTool({ name: 'anything', arguments: {} }, undefined, { timeout: 30_000 }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(McpError);
    expect((failure as McpError).code).toBe(ErrorCode.ConnectionClosed);
    expect(Date.now() - started).toBeLessThan(20_000); // ended by the exit, not by the 30 s timeout
  });

  it('fails to start a command that does not exist', async () => {
    const missing = new StdioUpstreamTransport({ command: join(createTempDir(), 'missing') });
    missing.onerror = () => undefined;
    await expect(missing.start()).rejects.toThrow(/ENOENT/);
    await missing.close();
  });

  it('logs the upstream stderr line by line through the watchdog, with the upstream named', async () => {
    const logger = createSilentLogger();
    const file = script(`console.error('first line'); console.error('second line'); lines(() => {});`);
    const transport = createUpstreamTransport({ name: 'noisy', command: process.execPath, args: [file] }, logger);
    expect(transport).toBeInstanceOf(StdioUpstreamTransport);
    await transport.start();
    try {
      await vi.waitFor(() =>
        expect(logger.lines.filter((l) => l.msg === 'upstream stderr').map((l) => l.obj)).toEqual([
          { upstream: 'noisy', stderr: 'first line' },
          { upstream: 'noisy', stderr: 'second line' },
        ]),
      );
    } finally {
      await transport.close();
    }
  });
});

describe('the JSON-RPC shape check', () => {
  it('accepts requests, notifications, results and errors, and names what is wrong otherwise', () => {
    expect(jsonRpcShapeError({ jsonrpc: '2.0', id: 1, method: 'm', params: {} })).toBeUndefined();
    expect(jsonRpcShapeError({ jsonrpc: '2.0', method: 'm' })).toBeUndefined();
    expect(jsonRpcShapeError({ jsonrpc: '2.0', id: 'x', result: {} })).toBeUndefined();
    expect(jsonRpcShapeError({ jsonrpc: '2.0', id: 2, error: { code: -32000, message: 'm' } })).toBeUndefined();
    expect(jsonRpcShapeError({ jsonrpc: '2.0', error: { code: -32700, message: 'parse error' } })).toBeUndefined();
    expect(jsonRpcShapeError(null)).toBe('not a JSON object');
    expect(jsonRpcShapeError({ jsonrpc: '1.0', method: 'm' })).toBe('jsonrpc is not "2.0"');
    expect(jsonRpcShapeError({ jsonrpc: '2.0', id: 1.5, method: 'm' })).toMatch(/request id/);
    expect(jsonRpcShapeError({ jsonrpc: '2.0', method: 'm', params: 3 })).toMatch(/params/);
    expect(jsonRpcShapeError({ jsonrpc: '2.0', result: {} })).toMatch(/without a string or integer id/);
    expect(jsonRpcShapeError({ jsonrpc: '2.0', id: 1, result: [] })).toMatch(/result that is not an object/);
    expect(jsonRpcShapeError({ jsonrpc: '2.0', id: 1, error: { code: 'x', message: 'm' } })).toBe('a malformed error');
    expect(jsonRpcShapeError({ jsonrpc: '2.0', id: 1 })).toBe('neither a method nor a result or error');
  });
});
