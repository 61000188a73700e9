import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAuditStore, createCheckpointSigner, createCheckpointer, withCheckpoints } from '../audit/index.js';
import { intentEntry, runCliCaptured } from './cli.test-support.js';

const cli = runCliCaptured;

/** A SQLite trail of 10 rows with a checkpoint after every 4 (rows 5 and 10 are checkpoints), and its public key file. */
async function writeTrail(): Promise<{ dir: string; uri: string; pubkey: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'custos-proofs-'));
  const uri = `sqlite:${path.join(dir, 'audit.sqlite')}`;
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pubkey = path.join(dir, 'checkpoint.pub.pem');
  writeFileSync(pubkey, publicKey.export({ type: 'spki', format: 'pem' }));
  const inner = await createAuditStore(uri);
  const checkpointer = createCheckpointer(inner, {
    signer: createCheckpointSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
    everyRows: 4,
    everyMs: 3_600_000,
    clock: { now: () => new Date() },
    ids: { newId: () => 'cp' },
  });
  const store = withCheckpoints(inner, checkpointer);
  for (let i = 1; i <= 8; i++) {
    await store.append(intentEntry(i));
    await checkpointer.idle();
  }
  await store.close();
  return { dir, uri, pubkey };
}

describe('custos audit prove / verify --export', () => {
  it('verifies an export offline, names a deleted row, prints a proof, and catches rows cut off the end against it', async () => {
    const { dir, uri, pubkey } = await writeTrail();
    const exported = await cli(['audit', 'export', '--store', uri]);
    expect(exported.out.trim().split('\n')).toHaveLength(10);
    const file = path.join(dir, 'trail.jsonl');
    writeFileSync(file, exported.out);

    const ok = await cli(['audit', 'verify', '--export', file, '--pubkey', pubkey]);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^export intact \(offline\): 10 rows, .*2 signed checkpoint\(s\), the latest over rows 1\.\.9 /);

    const deleted = path.join(dir, 'deleted.jsonl');
    writeFileSync(
      deleted,
      exported.out
        .split('\n')
        .filter((_, i) => i !== 2)
        .join('\n'),
    );
    const broken = await cli(['audit', 'verify', '--export', deleted, '--pubkey', pubkey]);
    expect(broken.code).toBe(1);
    expect(broken.err).toContain('TAMPERED row_deleted at seq 3');

    const proved = await cli(['audit', 'prove', '3', '--store', uri]);
    expect(proved.code).toBe(0);
    expect(JSON.parse(proved.out)).toMatchObject({ schema: 'custos.proof/v1', seq: 3, tree_size: 9, checkpoint: { seq: 10, tree_size: 9 } });
    const proofFile = path.join(dir, 'proof.json');
    writeFileSync(proofFile, proved.out);

    const cut = path.join(dir, 'cut.jsonl');
    writeFileSync(cut, `${exported.out.split('\n').slice(0, 6).join('\n')}\n`);
    expect((await cli(['audit', 'verify', '--export', cut, '--pubkey', pubkey])).code).toBe(0);
    const truncated = await cli(['audit', 'verify', '--export', cut, '--pubkey', pubkey, '--checkpoint', proofFile]);
    expect(truncated.code).toBe(1);
    expect(truncated.err).toContain('TAMPERED truncated at seq 7');
  });

  it('says when a row is not covered by a checkpoint, and needs a public key for an export', async () => {
    const { uri, dir } = await writeTrail();
    const notYet = await cli(['audit', 'prove', '10', '--store', uri]);
    expect(notYet.code).toBe(1);
    expect(notYet.err).toContain('row 10 is not covered by a checkpoint yet (the latest covers rows 1..9)');
    const noKey = await cli(['audit', 'verify', '--export', path.join(dir, 'x.jsonl')]);
    expect(noKey.code).toBe(2);
    expect(noKey.err).toContain('needs at least one --pubkey');
  });

  it('verifies the store with --pubkey: every signed checkpoint, the expected head too; another key is refused', async () => {
    const { dir, uri, pubkey } = await writeTrail();
    const head = (await cli(['audit', 'verify', '--store', uri])).out.match(/head seq 10 hash ([0-9a-f]{64})/)![1]!;
    const signed = await cli(['audit', 'verify', '--store', uri, '--pubkey', pubkey, '--expect-head', `10:${head}`]);
    expect(signed).toMatchObject({ code: 0, err: '' });
    expect(signed.out).toMatch(
      /^audit trail intact: 10 rows, head seq 10 hash [0-9a-f]{64}, 2 signed checkpoint\(s\), the latest over rows 1\.\.9 .*, reaches the expected head seq 10\n$/,
    );
    const rebuilt = await cli(['audit', 'verify', '--store', uri, '--pubkey', pubkey, '--expect-head', `10:${'f'.repeat(64)}`]);
    expect(rebuilt.code).toBe(1);
    expect(rebuilt.err).toContain('BROKEN at seq 10: hash_mismatch');

    const other = path.join(dir, 'other.pub.pem');
    writeFileSync(other, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    const foreign = await cli(['audit', 'verify', '--store', uri, '--pubkey', other]);
    expect(foreign.code).toBe(1);
    expect(foreign.err).toContain('TAMPERED checkpoint_forged at seq 5: the checkpoint at seq 5 is forged: key_unknown');
  });
});
