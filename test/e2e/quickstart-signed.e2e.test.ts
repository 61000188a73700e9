/**
 * The quick start signs its trail: `runQuickstart` on a copy of the checkout (so nothing is
 * written into the repository's data/) creates the checkpoint key, the demo's rows get a
 * signed checkpoint, `custos audit verify -c` (what the banner suggests) checks the chain and
 * the signature, an evidence pack from the same config carries a signed manifest, and the
 * monitor's start-up snapshot is signed by the same key. A checkpoint signed by another key
 * is caught, with the reason.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parseDocument } from 'yaml';
import { runQuickstart } from '../../src/app/index.js';
import { createAuditStore, createCheckpointSigner, createCheckpointer } from '../../src/audit/index.js';
import type { AuditStoreAdmin } from '../../src/audit/index.js';
import { runCliCaptured } from '../../src/cli/cli.test-support.js';
import { copyQuickstartCheckout } from '../../src/config/index.test-support.js';
import type { AuditRecord } from '../../src/kernel/index.js';
import { createSqliteSnapshotStore, sqliteSnapshotPath } from '../../src/monitor/index.js';
import { freePort } from './harness.js';

async function rowsOf(store: AuditStoreAdmin): Promise<AuditRecord[]> {
  const rows: AuditRecord[] = [];
  for await (const r of store.read({ fromSeq: 1 })) rows.push(r);
  return rows;
}

describe('the quick start signs its checkpoints', () => {
  const checkout = copyQuickstartCheckout();
  const out = mkdtempSync(path.join(tmpdir(), 'custos-quickstart-signed-'));
  let handle: Awaited<ReturnType<typeof runQuickstart>> | undefined;
  afterAll(async () => {
    await handle?.close();
    rmSync(checkout.root, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  });

  it('creates its key, signs a checkpoint over the demo, and audit verify -c and an evidence pack check the signature', async () => {
    // The quick start's own config, with a checkpoint after 4 rows instead of its 10 s (no waiting on a timer).
    const doc = parseDocument(readFileSync(checkout.config, 'utf8'));
    doc.setIn(['audit', 'checkpoints', 'everyRows'], 4);
    writeFileSync(checkout.config, doc.toString());
    expect(existsSync(checkout.keyFile)).toBe(false);

    const lines: string[] = [];
    handle = await runQuickstart({ root: checkout.root, port: await freePort(), idpPort: await freePort(), print: (l) => lines.push(l) });
    const banner = lines.find((l) => l.includes('checkpoints'));
    const keyId = createCheckpointSigner(readFileSync(checkout.keyFile, 'utf8')).keyId;
    expect(banner).toBe(`  checkpoints        signed with ${path.relative(process.cwd(), checkout.keyFile)} (key id ${keyId}; created now; a dev key)`);
    expect(statSync(checkout.keyFile).mode & 0o777).toBe(0o600);
    expect(lines).toContain('  npx custos audit verify -c examples/quickstart/custos.yaml  # the hash chain and the signed checkpoints');

    const checkpoint = await vi.waitFor(
      async () => {
        const row = (await rowsOf(handle!.custos.store)).find((r) => r.event === 'checkpoint');
        if (!row) throw new Error('no checkpoint row yet');
        return row;
      },
      { timeout: 20_000, interval: 50 },
    );
    expect(checkpoint.checkpoint).toMatchObject({ key_id: keyId });
    expect(checkpoint.checkpoint!.tree_size).toBeGreaterThanOrEqual(4);
    await handle.close();
    handle = undefined;
    // The monitor's start-up snapshot, saved at shutdown, is signed with the same key.
    const snapshots = createSqliteSnapshotStore(sqliteSnapshotPath(path.join(checkout.root, 'data/audit.sqlite')));
    const snapshot = await snapshots.load();
    await snapshots.close();
    expect(JSON.parse(snapshot!.slice(0, snapshot!.indexOf('\n')))).toMatchObject({ key_id: keyId, signature: expect.any(String) });

    const verified = await runCliCaptured(['audit', 'verify', '-c', checkout.config]);
    expect(verified).toMatchObject({ code: 0, err: '' });
    expect(verified.out).toMatch(
      new RegExp(`^audit trail intact: \\d+ rows, head seq \\d+ hash [0-9a-f]{64}, [1-9]\\d* signed checkpoint\\(s\\), .* key ${keyId}\\n$`),
    );

    const pack = path.join(out, 'pack');
    const written = await runCliCaptured(['evidence', '-c', checkout.config, '--framework', 'soc2', '--out', pack, '--no-pdf', '--no-tls']);
    expect(written.code).toBe(0);
    expect(written.out).toMatch(new RegExp(`manifest sha256 [0-9a-f]{64}, signed by key ${keyId}`));
    const checked = await runCliCaptured(['evidence', 'verify', pack, '--pubkey', checkout.keyFile]);
    expect(checked).toMatchObject({ code: 0 });
    expect(checked.out).toContain(`evidence pack intact: `);
    expect(checked.out).toContain(`manifest signed by key ${keyId}`);
  }, 120_000);

  it('refuses a checkpoint signed by another key, naming the row and the reason', async () => {
    // A copy of the trail with one more checkpoint over all its rows, chained properly but signed by a key the config does not hold.
    const trail = path.join(out, 'forged.sqlite');
    copyFileSync(path.join(checkout.root, 'data/audit.sqlite'), trail);
    const store = await createAuditStore(`sqlite:${trail}`);
    const other = createCheckpointSigner(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    const checkpointer = createCheckpointer(store, {
      signer: other,
      everyRows: 1_000,
      everyMs: 60_000,
      clock: { now: () => new Date() },
      ids: { newId: randomUUID },
    });
    const forged = await checkpointer.checkpoint();
    await checkpointer.close();
    await store.close();
    expect(forged?.checkpoint?.key_id).toBe(other.keyId);

    const refused = await runCliCaptured(['audit', 'verify', '-c', checkout.config, '--store', `sqlite:${trail}`]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(`TAMPERED checkpoint_forged at seq ${forged!.seq}: the checkpoint at seq ${forged!.seq} is forged: key_unknown`);
    expect(refused.err).toMatch(/audit trail BROKEN: 1 finding\(s\)/);
    // The chain alone is intact: only the signature check tells the forged checkpoint apart.
    expect((await runCliCaptured(['audit', 'verify', '--store', `sqlite:${trail}`])).code).toBe(0);
  });
});
