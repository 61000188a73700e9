/**
 * The audit module's test door (never in dist/): fixtures for the audit tests, and the one
 * in-memory audit store that every unit test, in any module, uses.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUDIT_SCHEMA } from '../kernel/index.js';
import type { AuditEntry, AuditEvent } from '../kernel/index.js';

export { createMemoryAudit } from './memory-store.test-support.js';
export type { MemoryAuditStore } from './memory-store.test-support.js';

export function makeEntry(n: number, overrides: Partial<AuditEntry> = {}): AuditEntry {
  const event: AuditEvent = n % 2 === 1 ? 'intent' : 'result';
  return {
    schema: AUDIT_SCHEMA,
    event,
    time: new Date(Date.UTC(2025, 0, 1, 0, 0, n)).toISOString(),
    request_id: `req-${Math.ceil(n / 2)}`,
    kind: 'tool',
    user: { sub: 'user-123', iss: 'https://idp.example.com/', email: 'dana@example.com' },
    agent: { name: 'claude-desktop', tier: 'interactive', delegation_chain: ['user:user-123', 'agent:claude-desktop', 'tool:fs/read_file'] },
    tool: { server: 'fs', name: 'read_file', classes: ['reads_phi'] },
    data_classes: ['phi'],
    policy: { decision: 'allow', bundle_hash: 'a'.repeat(64), determining_policies: ['policy0'], reasons: [] },
    ...(event === 'intent'
      ? { input: { redacted: { path: '/notes/[redacted:ssn].txt' }, sha256: 'b'.repeat(64) } }
      : { output: { redacted: `contents of call ${n}`, sha256: 'c'.repeat(64) } }),
    redactions: { count: 1, types: ['ssn'] },
    ...overrides,
  };
}

export interface TempDir {
  readonly path: string;
  remove(): void;
}

export function makeTempDir(): TempDir {
  const path = mkdtempSync(join(tmpdir(), 'custos-audit-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
