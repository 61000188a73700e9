/**
 * `custos audit backup` and `custos audit restore`: the trail (as its canonical JSONL rows,
 * verified on the way in and out), the session store (SQLite's online backup) and the keys
 * by reference only (a backup never holds a private key or a secret: it lists the
 * references the config names, which the operator restores from the key store).
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  createReadStream,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { createCheckpointSigner, isSealedText, restoreTrail } from '../audit/index.js';
import { CustosError } from '../kernel/index.js';
import type { CommandContext } from './context.js';
import { openStore, resolveStore } from './store-uri.js';
import type { StoreOptions } from './store-uri.js';

export const BACKUP_SCHEMA = 'custos.backup/v1';
const TRAIL_FILE = 'trail.jsonl';
const SESSIONS_FILE = 'sessions.sqlite';

export interface BackupManifest {
  readonly schema: typeof BACKUP_SCHEMA;
  readonly created_at: string;
  readonly trail: { readonly file: string; readonly rows: number; readonly head_seq: number; readonly head_hash: string; readonly sha256: string };
  readonly sessions: { readonly file: string; readonly sha256: string } | { readonly skipped: string };
  /** Every secret or key the config names, by reference (`file:…`, `env:…`), never its value. */
  readonly keys: ReadonlyArray<{ readonly config_path: string; readonly reference: string }>;
  /** The key id of the checkpoint signing key in force (what `--pubkey` must match). */
  readonly checkpoint_key_id?: string;
}

const sha256File = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** `file:`/`env:` references and key directories in the raw config, with their paths. */
function keyReferences(raw: unknown, at = ''): Array<{ config_path: string; reference: string }> {
  if (typeof raw === 'string') return /^(env|file):.+$/.test(raw) ? [{ config_path: at, reference: raw }] : [];
  if (Array.isArray(raw)) return raw.flatMap((v, i) => keyReferences(v, `${at}[${i}]`));
  if (typeof raw !== 'object' || raw === null) return [];
  return Object.entries(raw).flatMap(([k, v]) => {
    const where = at === '' ? k : `${at}.${k}`;
    return k === 'keysDir' && typeof v === 'string' ? [{ config_path: where, reference: `dir:${v}` }] : keyReferences(v, where);
  });
}

export interface BackupOptions extends StoreOptions {
  readonly out: string;
  readonly sessions?: string;
}

export async function backupAudit(ctx: CommandContext, opts: BackupOptions): Promise<void> {
  const out = path.resolve(opts.out);
  if (existsSync(out) && readdirSync(out).length > 0) throw new CustosError('ERR_CONFIG_INVALID', `the backup directory ${out} is not empty: choose a new one`);
  mkdirSync(out, { recursive: true });
  const config = opts.config === undefined ? undefined : await loadConfigFile(opts.config);
  const store = await openStore(opts, { readonly: true });
  const trailFile = path.join(out, TRAIL_FILE);
  let rows = 0;
  let head = { seq: 0, hash: '' };
  const fd = openSync(trailFile, 'wx', 0o600);
  try {
    for await (const row of store.readRaw()) {
      // readRaw hands on a row it cannot open (for verification to name): a backup refuses it instead.
      if (isSealedText(row.json))
        throw new CustosError('ERR_AUDIT_DECRYPT_FAILED', `row ${row.seq} does not open with the configured keys: nothing was backed up as valid`, {
          detail: { seq: row.seq, reason: 'ciphertext_invalid' },
        });
      writeSync(fd, `${row.json}\n`);
      rows += 1;
      head = { seq: row.seq, hash: row.hash };
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
    await store.close();
  }
  const sessions = await backupSessions(opts.sessions ?? config?.sessions, path.join(out, SESSIONS_FILE));
  const manifest: BackupManifest = {
    schema: BACKUP_SCHEMA,
    created_at: new Date().toISOString(),
    trail: { file: TRAIL_FILE, rows, head_seq: head.seq, head_hash: head.hash, sha256: sha256File(trailFile) },
    sessions,
    keys: config ? keyReferences(config.raw) : [],
    ...(config?.checkpointKeyId ? { checkpoint_key_id: config.checkpointKeyId } : {}),
  };
  writeFileSync(path.join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600, flush: true });
  ctx.out(`backup written to ${out}: ${rows} rows (head seq ${head.seq}), sessions ${'file' in sessions ? 'copied' : `not copied (${sessions.skipped})`}`);
  for (const k of manifest.keys) ctx.out(`key by reference: ${k.config_path} = ${k.reference} (not in the backup: restore it from your key store)`);
}

async function loadConfigFile(file: string): Promise<{ raw: unknown; sessions: string; checkpointKeyId?: string }> {
  const { loadConfig } = await import('../config/index.js');
  const { parse } = await import('yaml');
  const { deriveSessionStoreLocation } = await import('../identity/index.js');
  const config = loadConfig(file);
  const configured = config.identity.sessions.store;
  const sessions =
    configured === undefined
      ? deriveSessionStoreLocation(config.audit.store)
      : configured.startsWith('sqlite:')
        ? `sqlite:${path.resolve(config.baseDir, configured.slice('sqlite:'.length))}`
        : configured;
  const key = config.audit.checkpoints.signingKey;
  return {
    raw: parse(readFileSync(file, 'utf8')) as unknown,
    sessions,
    ...(key === undefined ? {} : { checkpointKeyId: createCheckpointSigner(key).keyId }),
  };
}

/** SQLite's online backup API: a consistent copy while Custos keeps writing. */
async function backupSessions(location: string | undefined, dest: string): Promise<BackupManifest['sessions']> {
  if (location === undefined) return { skipped: 'no session store named (give --sessions or --config)' };
  if (!location.startsWith('sqlite:')) return { skipped: 'the session store is PostgreSQL: back it up with pg_dump' };
  const file = path.resolve(location.slice('sqlite:'.length));
  if (!existsSync(file)) return { skipped: `no session store at ${file}` };
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    await db.backup(dest);
  } finally {
    db.close();
  }
  return { file: SESSIONS_FILE, sha256: sha256File(dest) };
}

export interface RestoreOptions {
  readonly from: string;
  readonly store: string;
  readonly sessions?: string;
  /** With a config, the restored rows are sealed under its audit.encryption key (as the running Custos would write them). */
  readonly config?: string;
}

async function* lines(file: string): AsyncGenerator<string> {
  for await (const line of createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity })) if (line.length > 0) yield line;
}

function readManifest(dir: string): BackupManifest {
  let manifest: Partial<BackupManifest>;
  try {
    manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Partial<BackupManifest>;
  } catch (err) {
    throw new CustosError('ERR_CONFIG_INVALID', `${dir} holds no readable manifest.json: not a custos backup`, { cause: err });
  }
  if (manifest.schema !== BACKUP_SCHEMA || !manifest.trail)
    throw new CustosError('ERR_CONFIG_INVALID', `${dir}/manifest.json is not a ${BACKUP_SCHEMA} manifest`);
  return manifest as BackupManifest;
}

export async function restoreAudit(ctx: CommandContext, opts: RestoreOptions): Promise<void> {
  const dir = path.resolve(opts.from);
  const manifest = readManifest(dir);
  const trailFile = path.join(dir, manifest.trail.file);
  if (sha256File(trailFile) !== manifest.trail.sha256)
    throw new CustosError('ERR_AUDIT_CHAIN_BROKEN', `${trailFile} does not match the manifest's SHA-256: the backup was altered`);
  const uri = await resolveStore({ store: opts.store });
  const store = await openStore({ store: opts.store, config: opts.config });
  let result;
  try {
    result = await restoreTrail(store, () => lines(trailFile), { concurrency: uri.startsWith('sqlite:') ? 256 : 1 });
  } finally {
    await store.close();
  }
  if (result.rows !== manifest.trail.rows || (result.head?.hash ?? '') !== manifest.trail.head_hash)
    throw new CustosError('ERR_AUDIT_CHAIN_BROKEN', 'the restored trail does not end where the manifest says: discard the target store');
  ctx.out(`trail restored into ${opts.store}: ${result.rows} rows, head seq ${result.head?.seq ?? 0} hash ${result.head?.hash ?? '-'}`);
  restoreSessions(ctx, dir, manifest, opts.sessions);
  for (const k of manifest.keys) ctx.out(`put back by reference: ${k.config_path} = ${k.reference}`);
  if (manifest.checkpoint_key_id) ctx.out(`checkpoints were signed with key id ${manifest.checkpoint_key_id}: verify with its public key (--pubkey)`);
}

function restoreSessions(ctx: CommandContext, dir: string, manifest: BackupManifest, target: string | undefined): void {
  if (!('file' in manifest.sessions)) {
    ctx.out(`sessions: not in the backup (${manifest.sessions.skipped})`);
    return;
  }
  if (target === undefined) {
    ctx.out('sessions: in the backup, not restored (give --sessions sqlite:PATH)');
    return;
  }
  if (!target.startsWith('sqlite:')) throw new CustosError('ERR_CONFIG_INVALID', '--sessions must be sqlite:PATH (the backup holds a SQLite session store)');
  const source = path.join(dir, manifest.sessions.file);
  if (sha256File(source) !== manifest.sessions.sha256) throw new CustosError('ERR_CONFIG_INVALID', `${source} does not match the manifest's SHA-256`);
  const file = path.resolve(target.slice('sqlite:'.length));
  if (existsSync(file)) throw new CustosError('ERR_CONFIG_INVALID', `the session store ${file} exists: restore only into a new one`);
  mkdirSync(path.dirname(file), { recursive: true });
  copyFileSync(source, file);
  ctx.out(`sessions restored into ${target}`);
}
