import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAuditStore } from '../audit/index.js';
import { createKeyRegistry, recordKeysOf } from '../keys/index.js';
import { intentEntry, runCliCaptured, writeSignedDeployment } from './cli.test-support.js';

/** A trail in a config of its own: sealed (key trail-1), checkpoints signed by the registry key `cp`. */
describe('custos audit purge and hold (sealed trail)', () => {
  let dir: string;
  let config: string;
  const trailKey = randomBytes(32).toString('base64');
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'custos-purge-cli-'));
    writeFileSync(path.join(dir, 'trail-1.key'), trailKey);
    ({ config } = writeSignedDeployment(dir, {
      audit: { encryption: { key: 'trail-1' }, search: { indexKey: 'index-1' } },
      keys: [
        { id: 'trail-1', use: 'encrypt', ref: 'file:trail-1.key' },
        { id: 'index-1', use: 'hmac', ref: 'file:trail-1.key' },
      ],
    }));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Six rows from 2019 (past six years), alternating alice and bob, and one recent row. */
  async function seed(): Promise<void> {
    const registry = createKeyRegistry([{ id: 'trail-1', use: 'encrypt', material: trailKey }]);
    const store = await createAuditStore(`sqlite:${path.join(dir, 'data/audit.sqlite')}`, { keys: recordKeysOf(registry, 'trail-1') });
    for (let i = 1; i <= 6; i += 1) {
      await store.append(
        intentEntry(i, {
          time: new Date(Date.UTC(2019, 0, 1, 0, 0, i)).toISOString(),
          user: { sub: i % 2 ? 'alice' : 'bob' },
          input: { redacted: `old-${i}`, sha256: 'b'.repeat(64) },
        }),
      );
    }
    await store.append(intentEntry(7, { time: new Date().toISOString() }));
    await store.close();
    registry.close();
  }

  it('dry run by default; a hold keeps bob; --yes purges alice with progress, signs a checkpoint, and the export verifies offline', async () => {
    await seed();
    const placed = await runCliCaptured(['audit', 'hold', 'place', '-c', config, '--by', 'legal@example.com', '--reason', 'matter 7', '--user', 'bob']);
    expect(placed.code).toBe(0);
    const holdId = /legal hold (\S+) placed at seq 8/.exec(placed.out)?.[1];
    expect(holdId).toBeDefined();
    expect((await runCliCaptured(['audit', 'hold', 'list', '-c', config])).out).toContain(`${holdId}: user bob (matter 7; placed at seq 8)`);

    const dry = await runCliCaptured(['audit', 'purge', '-c', config, '--by', 'ops@example.com']);
    expect(dry.out).toContain('3 row(s) past retention and not held, of 8; 3 past retention kept under a legal hold');
    expect(dry.out).toContain('dry run: nothing was removed');
    const again = await runCliCaptured(['audit', 'purge', '-c', config, '--by', 'ops@example.com', '--json']);
    expect(JSON.parse(again.out.split('\n')[0]!)).toMatchObject({
      rows: 3,
      held: 3,
      ranges: [
        [1, 1],
        [3, 3],
        [5, 5],
      ],
    });

    const real = await runCliCaptured(['audit', 'purge', '-c', config, '--by', 'ops@example.com', '--yes']);
    expect(real.err).toContain('purge 1/1: 3 row(s) purged (3 of 3), recorded at seq 9');
    expect(real.out).toMatch(/checkpoint at seq 10 signs rows 1\.\.9/);

    const exported = await runCliCaptured(['audit', 'export', '-c', config]);
    expect(exported.out).not.toContain('old-1');
    expect(exported.out).toContain('old-2'); // bob's, held
    writeFileSync(path.join(dir, 'export.jsonl'), exported.out);
    const ocsf = await runCliCaptured(['audit', 'export', '-c', config, '--format', 'ocsf']);
    expect(ocsf.code).toBe(0);
    expect(ocsf.out.trim().split('\n')).toHaveLength(7); // the three tombstones have no OCSF event
    const verified = await runCliCaptured(['audit', 'verify', '--export', path.join(dir, 'export.jsonl'), '--pubkey', path.join(dir, 'cp.pub.pem')]);
    expect(verified.code).toBe(0);
    expect(verified.out).toContain('export intact (offline): 10 rows');
    // With -c, the config's signing key checks the checkpoint the purge signed, in the store.
    expect((await runCliCaptured(['audit', 'verify', '-c', config])).out).toMatch(
      /audit trail intact: 10 rows, .*1 signed checkpoint\(s\), the latest over rows 1\.\.9/,
    );

    // Nothing in clear on disk: the kept bodies are sealed, the purged ones are gone.
    const disk = Buffer.concat(readdirSync(path.join(dir, 'data')).map((f) => readFileSync(path.join(dir, 'data', f))));
    expect(disk.includes(Buffer.from('old-2'))).toBe(false);

    const released = await runCliCaptured(['audit', 'hold', 'release', holdId!, '-c', config, '--by', 'legal@example.com', '--reason', 'settled']);
    expect(released.out).toContain(`legal hold ${holdId} released at seq 11`);
    expect((await runCliCaptured(['audit', 'purge', '-c', config, '--by', 'ops@example.com'])).out).toContain('3 row(s) past retention and not held');
  });

  it('refuses a hold with no bound and a release of a hold that is not open', async () => {
    await seed();
    const none = await runCliCaptured(['audit', 'hold', 'place', '-c', config, '--by', 'a', '--reason', 'r']);
    expect(none.code).not.toBe(0);
    expect(none.err).toContain('a legal hold needs at least one of --user, --tenant, --from, --to');
    const release = await runCliCaptured(['audit', 'hold', 'release', 'nope', '-c', config, '--by', 'a', '--reason', 'r']);
    expect(release.err).toContain('no open legal hold nope');
  });

  it('a sealed trail read without its keys fails closed, naming the key', async () => {
    await seed();
    const result = await runCliCaptured(['audit', 'export', '--store', `sqlite:${path.join(dir, 'data/audit.sqlite')}`]);
    expect(result.code).not.toBe(0);
    expect(result.err).toContain('row 1 is sealed under key "trail-1", which is not in the key registry');
  });
});
