/** Shared by the CLI's tests: run a command with captured output, and make plain intent rows. */
import { PassThrough, Readable } from 'node:stream';
import { AUDIT_SCHEMA } from '../kernel/index.js';
import type { AuditEntry } from '../kernel/index.js';
import { runCli } from './index.js';

/** Runs `custos ARGS` in-process with `stdin` as its input; resolves with the exit code and what it printed. */
export async function runCliCaptured(args: string[], stdin = ''): Promise<{ code: number | undefined; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await runCli(args, { stdout, stderr, stdin: Readable.from([stdin]) });
  return { code, out, err };
}

/** The i-th allowed intent row of alice's, one second after 2026-01-01T00:00:00Z per i; `extra` adds or overrides fields. */
export function intentEntry(i: number, extra: Partial<AuditEntry> = {}): AuditEntry {
  return {
    schema: AUDIT_SCHEMA,
    event: 'intent',
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    request_id: `r${i}`,
    user: { sub: 'alice' },
    policy: { decision: 'allow', bundle_hash: 'a'.repeat(64), determining_policies: [], reasons: [] },
    redactions: { count: 0, types: [] },
    ...extra,
  };
}
