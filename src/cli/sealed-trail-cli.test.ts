/**
 * Every command that reads the trail opens a sealed one with its config's keys (issue 10):
 * `alerts list`, `inventory`, `policy log`, `audit backup` and `audit restore`. Without the
 * keys, or with another key under the same id, each fails closed naming the key id.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAuditStore } from '../audit/index.js';
import { createKeyRegistry, recordKeysOf } from '../keys/index.js';
import { intentEntry, runCliCaptured } from './cli.test-support.js';

describe('commands reading a sealed trail', () => {
  let dir: string;
  const trailKey = randomBytes(32).toString('base64');
  const writeConfig = (name: string, keyFile: string): string => {
    const file = path.join(dir, name);
    writeFileSync(
      file,
      JSON.stringify({
        identity: { issuers: [{ issuer: 'https://idp.example.com', audience: 'custos' }] },
        policy: { bundle: './bundle' },
        audit: { store: 'sqlite:./data/audit.sqlite', encryption: { key: 'trail-1' }, search: { indexKey: 'index-1' } },
        keys: [
          { id: 'trail-1', use: 'encrypt', ref: `file:${keyFile}` },
          { id: 'index-1', use: 'hmac', ref: `file:${keyFile}` },
        ],
      }),
    );
    return file;
  };
  let config: string;
  let wrongConfig: string;
  const store = (): string => `sqlite:${path.join(dir, 'data/audit.sqlite')}`;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'custos-sealed-cli-'));
    writeFileSync(path.join(dir, 'trail-1.key'), trailKey);
    writeFileSync(path.join(dir, 'other.key'), randomBytes(32).toString('base64'));
    config = writeConfig('custos.yaml', 'trail-1.key');
    wrongConfig = writeConfig('wrong.yaml', 'other.key');
    const registry = createKeyRegistry([{ id: 'trail-1', use: 'encrypt', material: trailKey }]);
    const trail = await createAuditStore(store(), { keys: recordKeysOf(registry, 'trail-1') });
    for (let i = 1; i <= 3; i += 1) await trail.append(intentEntry(i));
    await trail.append(
      intentEntry(4, {
        event: 'policy_activated',
        kind: 'admin',
        detail: { bundle_hash: 'a'.repeat(64), previous_hash: null, version: '7', author: 'ops', approvers: [] },
      } as never),
    );
    await trail.close();
    registry.close();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const readers: Array<[string, string[]]> = [
    ['alerts list', ['alerts', 'list', '--all']],
    ['inventory', ['inventory', '--format', 'json']],
    ['policy log', ['policy', 'log']],
  ];

  it.each(readers)('%s opens the sealed trail with --config', async (_name, args) => {
    const result = await runCliCaptured([...args, '-c', config]);
    expect(result.err).toBe('');
    expect(result.code ?? 0).toBe(0);
  });

  it.each(readers)('%s without the keys fails closed, naming the key id', async (_name, args) => {
    const result = await runCliCaptured([...args, '--store', store()]);
    expect(result.code).not.toBe(0);
    expect(result.err).toContain('sealed under key "trail-1", which is not in the key registry');
  });

  it.each(readers)('%s with another key under the same id fails closed, naming the key id', async (_name, args) => {
    const result = await runCliCaptured([...args, '-c', wrongConfig]);
    expect(result.code).not.toBe(0);
    expect(result.err).toContain('does not unwrap under key "trail-1"');
  });

  it('audit backup with the keys writes the rows in clear for the restore; the restore seals them again under --config', async () => {
    const out = path.join(dir, 'backup');
    const backup = await runCliCaptured(['audit', 'backup', '-c', config, '--out', out]);
    expect(backup.err).toBe('');
    expect(backup.out).toContain('4 rows');
    expect(readFileSync(path.join(out, 'trail.jsonl'), 'utf8')).toContain('"request_id":"r1"');
    const target = `sqlite:${path.join(dir, 'restored.sqlite')}`;
    const restored = await runCliCaptured(['audit', 'restore', '--from', out, '--store', target, '-c', config]);
    expect(restored.err).toBe('');
    expect(readFileSync(path.join(dir, 'restored.sqlite')).includes('"request_id":"r1"')).toBe(false); // sealed on disk
    expect((await runCliCaptured(['audit', 'verify', '--store', target, '-c', config])).out).toContain('audit trail intact: 4 records');
  });

  it('audit backup with another key under the same id refuses, naming the row, and without keys names the key id', async () => {
    const wrong = await runCliCaptured(['audit', 'backup', '-c', wrongConfig, '--out', path.join(dir, 'b1')]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.err).toContain('row 1 does not open with the configured keys');
    const none = await runCliCaptured(['audit', 'backup', '--store', store(), '--out', path.join(dir, 'b2')]);
    expect(none.code).not.toBe(0);
    expect(none.err).toContain('sealed under key "trail-1", which is not in the key registry');
  });
});
