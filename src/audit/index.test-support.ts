/**
 * The audit module's test door (never in dist/): fixtures for the audit tests, and the one
 * in-memory audit store that every unit test, in any module, uses.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { AUDIT_SCHEMA, GENESIS_HASH, buildCheckpointRow } from '../kernel/index.js';
import { chainRecord } from './chain-hash.js';
import { createCheckpointSigner } from './checkpoint.js';
import { CompactTree, hashRowLeaf } from './merkle.js';
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

export interface LockHolder {
  /** Ends the other process's transaction (ROLLBACK) and waits for it to exit. */
  release(): Promise<void>;
}

/**
 * Another OS process opens `file` and holds `BEGIN EXCLUSIVE` until released (or for
 * `maxMs`), as an operator's sqlite3 shell or a backup tool would.
 */
export async function holdExclusiveLock(file: string, maxMs = 30_000): Promise<LockHolder> {
  const { spawn } = await import('node:child_process');
  const { createRequire } = await import('node:module');
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const script = `const D = require(${JSON.stringify(driver)}); const db = new D(process.argv[1]); db.exec('BEGIN EXCLUSIVE');
process.stdout.write('locked\\n');
const end = () => { db.exec('ROLLBACK'); db.close(); process.exit(0); };
process.stdin.on('data', end); setTimeout(end, ${maxMs});`;
  const child = spawn(process.execPath, ['-e', script, file], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`lock holder exited with ${code}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    async release() {
      if (child.exitCode === null) child.stdin.write('x');
      await exited;
    },
  };
}

/** A signed trail of `n` rows as JSONL lines (chained as the stores chain them), a checkpoint row every 1000, and the public key. */
export function makeSignedTrail(n: number): { lines: string[]; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const signer = createCheckpointSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const tree = new CompactTree();
  const lines: string[] = [];
  let prev = { seq: 0, hash: GENESIS_HASH };
  for (let i = 1; i <= n; i += 1) {
    const entry: AuditEntry =
      i % 1000 === 0
        ? buildCheckpointRow(
            { time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), requestId: `cp-${i}`, bundleHash: 'a'.repeat(64) },
            signer.sign({ treeSize: tree.size, rootHash: tree.root().toString('hex') }),
          )
        : makeEntry(i);
    const { record, json } = chainRecord(entry, prev);
    lines.push(json);
    tree.append(hashRowLeaf(record.hash));
    prev = { seq: record.seq, hash: record.hash };
  }
  return { lines, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}
