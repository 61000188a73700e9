/**
 * The config module's test door (never in dist/): the quick start's config in a fresh
 * directory laid out like the checkout, so tests load it, check it and run the quick start
 * from it without writing into the repository (its `data/` is where the key and trail go).
 */
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const repoRoot = path.resolve(import.meta.dirname, '../..');

export interface QuickstartCheckout {
  /** The directory that stands for the checkout (`runQuickstart`'s `root`). */
  readonly root: string;
  /** Its examples/quickstart/custos.yaml, a copy of the repository's. */
  readonly config: string;
  /** Where that config names the checkpoint signing key: root/data/checkpoint-key.pem. */
  readonly keyFile: string;
}

/**
 * examples/quickstart (config, policy, workspace) copied under a new directory, node_modules
 * linked beside it (the config's upstream runs from there); with `key`, an Ed25519 key
 * written where the config names it, as `npm start` would.
 */
export function copyQuickstartCheckout(options: { key?: boolean } = {}): QuickstartCheckout {
  const root = mkdtempSync(path.join(tmpdir(), 'custos-quickstart-checkout-'));
  cpSync(path.join(repoRoot, 'examples/quickstart'), path.join(root, 'examples/quickstart'), { recursive: true });
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(root, 'node_modules'));
  const keyFile = path.join(root, 'data/checkpoint-key.pem');
  if (options.key) {
    mkdirSync(path.dirname(keyFile), { recursive: true });
    writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  }
  return { root, config: path.join(root, 'examples/quickstart/custos.yaml'), keyFile };
}
