/**
 * The stdio leg to an upstream MCP server: Custos' own `Transport` (the SDK's interface, under
 * the SDK `Client`), spawning the command as the SDK's `StdioClientTransport` does (the same
 * default environment, stdin and stdout piped, stderr handed to `onStderrLine` line by line).
 * Each stdout line is `JSON.parse`d and its JSON-RPC shape checked cheaply (an object with
 * `jsonrpc: "2.0"` and a `method`, or an `id` with a `result` or an `error`), instead of the
 * SDK's zod union parse of every line; the `Client`'s own guards and result schemas still run
 * on what it receives. A line that is not JSON or not JSON-RPC goes to `onerror` and is
 * dropped, as the SDK's does; a line past `maxLineBytes` is an error that closes the
 * connection, so no call waits for an answer that was cut. Each message is written as one
 * string.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { STDIO_DEFAULT_MAX_BUFFER_SIZE } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

export interface StdioTransportOptions {
  readonly command: string;
  readonly args?: readonly string[];
  readonly cwd?: string;
  /** Added to the SDK's default inherited environment (HOME, PATH, ...), as the SDK does. */
  readonly env?: Readonly<Record<string, string>>;
  /** Each line the server writes to stderr. */
  readonly onStderrLine?: (line: string) => void;
  /** The longest stdout line read (bytes); past it the connection is closed. The SDK's default, 10 MiB. */
  readonly maxLineBytes?: number;
  /** How long `close()` waits for the process after ending its stdin, and again after SIGTERM, before SIGKILL. */
  readonly closeGraceMs?: number;
}

const NEWLINE = 0x0a;

/** Why `value` is not a JSON-RPC 2.0 message, or undefined when it is one. Never quotes the value. */
export function jsonRpcShapeError(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const m = value as Record<string, unknown>;
  if (m.jsonrpc !== '2.0') return 'jsonrpc is not "2.0"';
  const id = m.id;
  const idOk = typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id));
  if (typeof m.method === 'string') {
    if ('id' in m && !idOk) return 'a request id that is neither a string nor an integer';
    if (m.params !== undefined && (typeof m.params !== 'object' || m.params === null)) return 'params that are not an object';
    return undefined;
  }
  if ('result' in m) {
    if (!idOk) return 'a response without a string or integer id';
    return typeof m.result === 'object' && m.result !== null && !Array.isArray(m.result) ? undefined : 'a result that is not an object';
  }
  if ('error' in m) {
    if (id !== undefined && !idOk) return 'an error response whose id is neither a string nor an integer';
    const e = m.error as Record<string, unknown> | null;
    return typeof e === 'object' && e !== null && Number.isInteger(e.code) && typeof e.message === 'string' ? undefined : 'a malformed error';
  }
  return 'neither a method nor a result or error';
}

export class StdioUpstreamTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private child: ChildProcess | undefined;
  /** Chunks of the line being read (no newline in them yet), and their total length. */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private readonly maxLineBytes: number;
  private readonly graceMs: number;

  constructor(private readonly options: StdioTransportOptions) {
    this.maxLineBytes = options.maxLineBytes ?? STDIO_DEFAULT_MAX_BUFFER_SIZE;
    this.graceMs = options.closeGraceMs ?? 2000;
  }

  /** The child's pid, once started. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): Promise<void> {
    if (this.child) throw new Error('StdioUpstreamTransport already started');
    return new Promise((resolve, reject) => {
      const child = spawn(this.options.command, this.options.args ?? [], {
        env: { ...getDefaultEnvironment(), ...this.options.env },
        stdio: ['pipe', 'pipe', 'pipe'],
        shell: false,
        cwd: this.options.cwd,
      });
      this.child = child;
      child.on('error', (error) => {
        reject(error);
        this.onerror?.(error);
      });
      child.on('spawn', () => resolve());
      child.on('close', () => {
        if (this.child === child) this.child = undefined;
        this.onclose?.();
      });
      child.stdin.on('error', (error) => this.onerror?.(error));
      child.stdout.on('data', (chunk: Buffer) => this.read(chunk));
      child.stdout.on('error', (error) => this.onerror?.(error));
      const onLine = this.options.onStderrLine;
      if (onLine) createInterface({ input: child.stderr }).on('line', onLine);
      else child.stderr.resume();
    });
  }

  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (!stdin) return Promise.reject(new Error('Not connected'));
    return new Promise((resolve) => {
      if (stdin.write(JSON.stringify(message) + '\n')) resolve();
      else stdin.once('drain', resolve);
    });
  }

  async close(): Promise<void> {
    const child = this.child;
    this.partial = [];
    this.partialBytes = 0;
    if (!child) return;
    this.child = undefined;
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const within = (): Promise<void> => Promise.race([closed, new Promise<void>((resolve) => setTimeout(resolve, this.graceMs).unref())]);
    try {
      child.stdin?.end();
    } catch {
      // already gone
    }
    await within();
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
      if (signal === 'SIGTERM') await within();
    }
  }

  /** Splits stdout into lines; a line may span chunks, a chunk may hold many lines. */
  private read(chunk: Buffer): void {
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end !== -1 && this.child; end = chunk.indexOf(NEWLINE, start)) {
      if (this.tooLong(end - start)) return;
      if (this.partialBytes === 0) this.deliver(chunk.toString('utf8', start, end));
      else {
        this.partial.push(chunk.subarray(start, end));
        const line = Buffer.concat(this.partial, this.partialBytes + end - start).toString('utf8');
        this.partial = [];
        this.partialBytes = 0;
        this.deliver(line);
      }
      start = end + 1;
    }
    if (start < chunk.length && this.child && !this.tooLong(chunk.length - start)) {
      this.partial.push(chunk.subarray(start));
      this.partialBytes += chunk.length - start;
    }
  }

  /** A line past the limit: an error, and the connection closed (the answer it carried is lost, so its call must not wait). */
  private tooLong(more: number): boolean {
    if (this.partialBytes + more <= this.maxLineBytes) return false;
    this.partial = [];
    this.partialBytes = 0;
    this.onerror?.(new Error(`upstream stdout line longer than ${this.maxLineBytes} bytes; closing the connection`));
    void this.close().catch(() => undefined);
    return true;
  }

  private deliver(raw: string): void {
    const line = raw.charCodeAt(raw.length - 1) === 13 ? raw.slice(0, -1) : raw;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.onerror?.(new Error(`upstream stdout line of ${line.length} characters is not JSON`));
      return;
    }
    const shape = jsonRpcShapeError(value);
    if (shape) return void this.onerror?.(new Error(`upstream stdout line is not a JSON-RPC message: ${shape}`));
    try {
      this.onmessage?.(value as JSONRPCMessage);
    } catch (error) {
      this.onerror?.(error instanceof Error ? error : new Error(String(error)));
    }
  }
}
