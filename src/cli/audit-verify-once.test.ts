import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAuditStore, createCheckpointSigner, createCheckpointer } from '../audit/index.js';
import type * as Audit from '../audit/index.js';
import type * as Config from '../config/index.js';
import { intentEntry, runCliCaptured, writeSignedDeployment } from './cli.test-support.js';

/** How often the command loaded the config file and read the trail's rows. */
const counted = vi.hoisted(() => ({ configLoads: 0, rowReads: 0 }));

vi.mock('../config/index.js', async (importOriginal) => {
  const config = await importOriginal<typeof Config>();
  return {
    ...config,
    loadConfig: (...args: Parameters<typeof config.loadConfig>) => {
      counted.configLoads += 1;
      return config.loadConfig(...args);
    },
  };
});

vi.mock('../audit/index.js', async (importOriginal) => {
  const audit = await importOriginal<typeof Audit>();
  return {
    ...audit,
    createAuditStore: async (...args: Parameters<typeof audit.createAuditStore>) => {
      const store = await audit.createAuditStore(...args);
      return {
        ...store,
        readRaw: (fromSeq?: number) => {
          counted.rowReads += 1;
          return store.readRaw(fromSeq);
        },
      };
    },
  };
});

const ROWS = 700; // more than the rows the reader runs ahead of the slower pass (verify-once.ts), twice over

/** A deployment whose checkpoints the config's registry key `cp` signs: ROWS rows, a checkpoint after them, one more row. */
let config: string;
let head: string;
beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'custos-verify-once-'));
  const deployment = writeSignedDeployment(dir);
  config = deployment.config;
  const pem = deployment.privateKeyPem;
  const store = await createAuditStore(`sqlite:${path.join(dir, 'data/audit.sqlite')}`);
  await Promise.all(Array.from({ length: ROWS }, (_, i) => store.append(intentEntry(i + 1))));
  const checkpointer = createCheckpointer(store, {
    signer: createCheckpointSigner(pem),
    everyRows: 1_000_000,
    everyMs: 3_600_000,
    clock: { now: () => new Date() },
    ids: { newId: () => 'cp' },
  });
  await checkpointer.checkpoint();
  await checkpointer.close();
  head = (await store.append(intentEntry(ROWS + 2))).hash;
  await store.close();
});

beforeEach(() => {
  counted.configLoads = 0;
  counted.rowReads = 0;
});

describe('custos audit verify --config FILE --expect-head SEQ:HASH', () => {
  it('loads the config once and reads the trail once, and says what it verified', async () => {
    const verified = await runCliCaptured(['audit', 'verify', '--config', config, '--expect-head', `${ROWS + 2}:${head}`]);
    expect(verified.err).toBe('');
    expect(verified.code).toBe(0);
    expect(verified.out).toMatch(
      new RegExp(
        `^audit trail intact: ${ROWS + 2} rows, head seq ${ROWS + 2} hash ${head}, 1 signed checkpoint\\(s\\), the latest over rows 1\\.\\.${ROWS} root [0-9a-f]{64} key [0-9a-f]+, reaches the expected head seq ${ROWS + 2}\\n$`,
      ),
    );
    expect(counted).toEqual({ configLoads: 1, rowReads: 1 });
  });

  it('reports a head the trail does not carry, or does not reach, as the chain pass names it, from the one read', async () => {
    const early = await runCliCaptured(['audit', 'verify', '--config', config, '--expect-head', `3:${'f'.repeat(64)}`]);
    expect(early).toMatchObject({ code: 1, out: '' });
    expect(early.err).toBe('audit trail BROKEN at seq 3: hash_mismatch (2 records read before it verified)\n');
    expect(counted).toEqual({ configLoads: 1, rowReads: 1 });

    const beyond = await runCliCaptured(['audit', 'verify', '--config', config, '--expect-head', `${ROWS + 5}:${head}`]);
    expect(beyond.code).toBe(1);
    expect(beyond.err).toBe(`audit trail BROKEN at seq ${ROWS + 3}: truncated (${ROWS + 2} records read before it verified)\n`);
    expect(counted).toEqual({ configLoads: 2, rowReads: 2 });
  });

  it('without --expect-head, still one load and one read', async () => {
    const verified = await runCliCaptured(['audit', 'verify', '--config', config]);
    expect(verified.code).toBe(0);
    expect(verified.out).toMatch(new RegExp(`^audit trail intact: ${ROWS + 2} rows, .*1 signed checkpoint\\(s\\)`));
    expect(counted).toEqual({ configLoads: 1, rowReads: 1 });
  });
});
