/**
 * The HTTP fronts `npm run bench -- gateway` compares with Custos, each its own process on
 * 127.0.0.1 in front of the same stdio server: the minimal forwarder (bench/forwarder.ts),
 * `supergateway --stateful` and `mcp-proxy` as shipped (devDependencies, pinned). And the
 * official SDK client sessions the benchmark drives them with.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { freePort, repoRoot, waitForOutput } from '../test/e2e/harness.js';

/** How to start the stdio MCP server every target fronts. */
export interface StdioCommand {
  readonly command: string;
  readonly args: readonly string[];
}

export interface HttpFront {
  readonly url: string;
  /** The front's process, whose CPU the benchmark counts. */
  readonly pid?: number;
  stop(): Promise<void>;
}

/** supergateway has no host option: this preload binds its listener to 127.0.0.1. */
const LOOPBACK_ONLY =
  'data:text/javascript,import net from "node:net";const listen=net.Server.prototype.listen;' +
  'net.Server.prototype.listen=function(...a){if(typeof a[0]==="number")a.splice(1,0,"127.0.0.1");return listen.apply(this,a)};';

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Keeps the last few KiB a child printed (for error messages) and never lets its pipes fill. */
function drain(child: ChildProcess): () => string {
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-4096);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => tail;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Resolves once something answers HTTP at `url` (any status). */
async function waitForHttp(url: string, child: ChildProcess, output: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode} before listening; output:\n${output()}`);
    try {
      await fetch(url, { method: 'GET', signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`nothing answered at ${url} within ${timeoutMs} ms; output:\n${output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function startFront(args: readonly string[], url: string): Promise<HttpFront> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = drain(child);
  try {
    await waitForHttp(url, child, output);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return { url, pid: child.pid, stop: () => stopChild(child) };
}

export async function startForwarderProcess(upstream: StdioCommand): Promise<HttpFront> {
  const script = fileURLToPath(new URL('./forwarder.js', import.meta.url));
  const child = spawn(process.execPath, [script, '--', upstream.command, ...upstream.args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = await waitForOutput(child, /forwarder listening on (\S+)\n/, 30_000).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  drain(child);
  return { url: /forwarder listening on (\S+)\n/.exec(out)![1]!, pid: child.pid, stop: () => stopChild(child) };
}

/** `supergateway --stdio CMD --outputTransport streamableHttp --stateful` (one server process per session, its design). */
export async function startSupergateway(upstream: StdioCommand): Promise<HttpFront> {
  const port = await freePort();
  const bin = path.join(repoRoot, 'node_modules/supergateway/dist/index.js');
  const stdio = [upstream.command, ...upstream.args].map(shellQuote).join(' ');
  const args = [
    '--import',
    LOOPBACK_ONLY,
    bin,
    '--stdio',
    stdio,
    '--outputTransport',
    'streamableHttp',
    '--stateful',
    '--port',
    String(port),
    '--logLevel',
    'none',
  ];
  return startFront(args, `http://127.0.0.1:${port}/mcp`);
}

/** `mcp-proxy --host 127.0.0.1 --port P -- CMD` (one server process shared by every session, its design). */
export async function startMcpProxy(upstream: StdioCommand): Promise<HttpFront> {
  const port = await freePort();
  const bin = path.join(repoRoot, 'node_modules/mcp-proxy/dist/bin/mcp-proxy.mjs');
  const args = [bin, '--host', '127.0.0.1', '--port', String(port), '--', upstream.command, ...upstream.args];
  return startFront(args, `http://127.0.0.1:${port}/mcp`);
}

export interface HttpSession {
  readonly client: Client;
  close(): Promise<void>;
}

/** An official SDK client session over Streamable HTTP; `close` ends the session at the server (DELETE) too. */
export async function connectHttp(
  url: string,
  options: { headers?: Record<string, string>; fetch?: typeof fetch; capabilities?: ConstructorParameters<typeof Client>[1] } = {},
): Promise<HttpSession> {
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: options.headers ?? {} }, fetch: options.fetch });
  const client = new Client({ name: 'custos-bench', version: '1.0.0' }, options.capabilities);
  await client.connect(transport);
  return {
    client,
    close: async () => {
      await transport.terminateSession().catch(() => undefined);
      await client.close();
    },
  };
}
