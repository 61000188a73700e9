/** Shared by the CLI's tests: run a command with captured output, make plain intent rows, write a deployment's config. */
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';
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

/**
 * A deployment of its own in `dir`: the quick-start bundle, a trail at `data/audit.sqlite`, checkpoints
 * signed by the registry key `cp` (`cp.pem`, its public half `cp.pub.pem`); `extra` adds to the `audit` section and
 * the keys. Returns the config file and the private key.
 */
export function writeSignedDeployment(dir: string, extra: { audit?: object; keys?: readonly object[] } = {}): { config: string; privateKeyPem: string } {
  const config = path.join(dir, 'custos.yaml');
  cpSync(path.resolve('examples/quickstart/policy'), path.join(dir, 'bundle'), { recursive: true });
  const ed = generateKeyPairSync('ed25519');
  const privateKeyPem = ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  writeFileSync(path.join(dir, 'cp.pem'), privateKeyPem);
  writeFileSync(path.join(dir, 'cp.pub.pem'), ed.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  writeFileSync(
    config,
    JSON.stringify({
      identity: { issuers: [{ issuer: 'https://idp.example.com', audience: 'custos' }] },
      policy: { bundle: './bundle' },
      audit: { store: 'sqlite:./data/audit.sqlite', checkpoints: { signingKey: 'key:cp' }, ...extra.audit },
      keys: [...(extra.keys ?? []), { id: 'cp', use: 'sign', ref: 'file:cp.pem' }],
    }),
  );
  return { config, privateKeyPem };
}
