/** Test support of the upstream pool's own tests: a silent logger, temp dirs, a real upstream. Not exported from index.ts. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger, UpstreamConfig } from '../kernel/index.js';

export function createSilentLogger(): Logger & { lines: { level: string; obj: Record<string, unknown>; msg?: string }[] } {
  const lines: { level: string; obj: Record<string, unknown>; msg?: string }[] = [];
  const log = (level: string) => (obj: Record<string, unknown>, msg?: string) => void lines.push({ level, obj, msg });
  return { lines, info: log('info'), warn: log('warn'), error: log('error') };
}

export function createTempDir(): string {
  return mkdtempSync(join(tmpdir(), 'custos-up-'));
}

/** The official filesystem MCP server, serving `dir`. */
export function filesystemUpstream(name: string, dir: string): UpstreamConfig {
  const entry = fileURLToPath(new URL('../../node_modules/@modelcontextprotocol/server-filesystem/dist/index.js', import.meta.url));
  return { name, command: process.execPath, args: [entry, dir] };
}
