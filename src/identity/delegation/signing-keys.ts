/**
 * Custos' own signing keys (for delegation and grant tokens). Keys are identified by kid;
 * one is active, rotated ones stay published until every token they signed has expired
 * (`retainSec` after their retirement), then they are dropped. Persisted as one JSON file
 * per key (mode 0600) in `dir` when one is configured, else generated at start in memory.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { exportJWK, generateKeyPair, importJWK } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { CustosError } from '../../kernel/index.js';

export const SIGNING_ALGORITHMS = ['ES256', 'RS256', 'EdDSA'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

export interface SigningKeyOptions {
  readonly algorithm?: SigningAlgorithm;
  /** Directory of persisted keys; absent: one key generated at start, kept in memory. */
  readonly dir?: string;
  /** Rotate when the active key is older than this (seconds); absent: only on `rotate()`. */
  readonly rotateAfterSec?: number;
  /** How long a retired key stays published: the longest lifetime of a token it signed. */
  readonly retainSec: number;
  /** Milliseconds since epoch. */
  readonly clock?: () => number;
}

export interface ActiveKey {
  readonly kid: string;
  readonly alg: string;
  readonly key: CryptoKey;
}

export interface SigningKeyStore {
  /** The key to sign with now (rotating first when the active one is past `rotateAfterSec`). */
  signingKey(): Promise<ActiveKey>;
  /**
   * A published key by kid (active or retired within its retention), else undefined. With a
   * directory, a key whose file was deleted is gone at once, and an unknown kid (another
   * replica rotated) re-reads the directory, at most once per RELOAD_COOLDOWN_MS.
   */
  verificationKey(kid: string): Promise<{ readonly alg: string; readonly key: CryptoKey } | undefined>;
  /** Public JWK Set of every published key. */
  jwks(): { readonly keys: readonly JWK[] };
  /** Generates a new active key and retires the current one; returns the new kid. */
  rotate(): Promise<string>;
  /** Drops a key at once (compromise): tokens it signed stop verifying. */
  remove(kid: string): void;
}

interface StoredKey {
  readonly kid: string;
  readonly alg: string;
  readonly createdAt: number;
  retiredAt?: number;
  readonly privateJwk: JWK;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly publicJwk: JWK;
}

const FILE_PREFIX = 'custos-signing-';
const RELOAD_COOLDOWN_MS = 5000;

function fileOf(dir: string, kid: string): string {
  return path.join(dir, `${FILE_PREFIX}${kid}.json`);
}

async function fromPrivateJwk(meta: { kid: string; alg: string; createdAt: number; retiredAt?: number }, privateJwk: JWK): Promise<StoredKey> {
  const privateKey = (await importJWK(privateJwk, meta.alg)) as CryptoKey;
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = privateJwk;
  const publicKey = (await importJWK(pub, meta.alg)) as CryptoKey;
  return { ...meta, privateJwk, privateKey, publicKey, publicJwk: { ...pub, kid: meta.kid, alg: meta.alg, use: 'sig' } };
}

async function generateKey(alg: string, now: number): Promise<StoredKey> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  return fromPrivateJwk({ kid: `custos-${alg.toLowerCase()}-${randomUUID()}`, alg, createdAt: now }, privateJwk);
}

function persist(dir: string | undefined, key: StoredKey): void {
  if (!dir) return;
  const body = { kid: key.kid, alg: key.alg, created_at: key.createdAt, retired_at: key.retiredAt ?? null, private_jwk: key.privateJwk };
  writeFileSync(fileOf(dir, key.kid), `${JSON.stringify(body)}\n`, { mode: 0o600 });
}

async function loadDir(dir: string): Promise<StoredKey[]> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keys: StoredKey[] = [];
  for (const name of readdirSync(dir)
    .filter((n) => n.startsWith(FILE_PREFIX) && n.endsWith('.json'))
    .sort()) {
    try {
      const raw = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as Record<string, unknown>;
      const { kid, alg, created_at: createdAt, retired_at: retiredAt, private_jwk: jwk } = raw;
      if (typeof kid !== 'string' || typeof alg !== 'string' || typeof createdAt !== 'number' || typeof jwk !== 'object' || jwk === null)
        throw new Error('shape');
      keys.push(await fromPrivateJwk({ kid, alg, createdAt, ...(typeof retiredAt === 'number' ? { retiredAt } : {}) }, jwk as JWK));
    } catch {
      throw new CustosError('ERR_CONFIG_INVALID', `identity.delegation.keysDir: ${name} is not a Custos signing key`);
    }
  }
  return keys;
}

/** Loads (or generates) the keys; throws ERR_CONFIG_INVALID on an unreadable key file. */
export async function createSigningKeyStore(options: SigningKeyOptions): Promise<SigningKeyStore> {
  const alg = options.algorithm ?? 'ES256';
  const clock = options.clock ?? Date.now;
  const keys = new Map<string, StoredKey>();
  for (const key of options.dir ? await loadDir(options.dir) : []) keys.set(key.kid, key);

  const isPublished = (key: StoredKey, now: number): boolean => key.retiredAt === undefined || now < key.retiredAt + options.retainSec * 1000;
  const active = (): StoredKey | undefined =>
    [...keys.values()].filter((k) => k.retiredAt === undefined && k.alg === alg).sort((a, b) => b.createdAt - a.createdAt)[0];

  function prune(now: number): void {
    for (const key of [...keys.values()]) {
      if (isPublished(key, now)) continue;
      keys.delete(key.kid);
      if (options.dir) rmSync(fileOf(options.dir, key.kid), { force: true });
    }
  }

  async function rotate(): Promise<string> {
    const now = clock();
    for (const key of keys.values()) {
      if (key.retiredAt !== undefined) continue;
      key.retiredAt = now;
      persist(options.dir, key);
    }
    const next = await generateKey(alg, now);
    keys.set(next.kid, next);
    persist(options.dir, next);
    prune(now);
    return next.kid;
  }

  const due = (key: StoredKey | undefined, now: number): boolean =>
    key === undefined || (options.rotateAfterSec !== undefined && now - key.createdAt >= options.rotateAfterSec * 1000);

  if (due(active(), clock())) await rotate();
  prune(clock());
  let rotating: Promise<string> | undefined;
  let reloadedAt = clock();

  /** Picks up keys other replicas wrote (and their retirement); never drops a key by itself. */
  async function reload(): Promise<void> {
    if (!options.dir || clock() - reloadedAt < RELOAD_COOLDOWN_MS) return;
    reloadedAt = clock();
    for (const key of await loadDir(options.dir).catch(() => [])) keys.set(key.kid, key);
  }

  /** A key file an operator deleted takes its key out of use immediately. */
  function stillOnDisk(key: StoredKey): boolean {
    if (!options.dir || existsSync(fileOf(options.dir, key.kid))) return true;
    keys.delete(key.kid);
    return false;
  }

  return {
    async signingKey() {
      const current = active();
      if (current) stillOnDisk(current); // a deleted active key is replaced, never used again
      if (due(active(), clock())) {
        rotating ??= rotate().finally(() => {
          rotating = undefined;
        });
        await rotating;
      }
      const key = active();
      if (!key) throw new CustosError('ERR_INTERNAL', 'No active signing key.');
      return { kid: key.kid, alg: key.alg, key: key.privateKey };
    },
    async verificationKey(kid) {
      if (!keys.has(kid)) await reload();
      const key = keys.get(kid);
      return key && isPublished(key, clock()) && stillOnDisk(key) ? { alg: key.alg, key: key.publicKey } : undefined;
    },
    jwks() {
      const now = clock();
      prune(now);
      return { keys: [...keys.values()].filter((k) => isPublished(k, now) && stillOnDisk(k)).map((k) => ({ ...k.publicJwk })) };
    },
    rotate,
    remove(kid) {
      keys.delete(kid);
      if (options.dir) rmSync(fileOf(options.dir, kid), { force: true });
    },
  };
}
