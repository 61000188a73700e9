/**
 * The durable local journal of audited fail-open calls. Files in `dir` (created 0700):
 *   journal-key.json    the SDK's Ed25519 journal key (private JWK, 0600), generated once
 *   failopen.json       the signed fail-open metadata and Custos' JWKS, as last fetched
 *   journal.jsonl       one compact JWS (EdDSA, typ custos-journal+jws) per line, appended and fsynced
 *   delivered.json      how far Custos has recorded the journal: { seq, hash }
 * Entries are chained: each names the SHA-256 of the line before it (`prev`) and the next `seq`.
 * Nothing is ever deleted: delivery only moves the cursor.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import path from 'node:path';

export const JOURNAL_ENTRY_TYP = 'custos-journal+jws';
const GENESIS = '0'.repeat(64);

/** What the SDK records about one fail-open call (the chain fields are added on append). */
export interface JournalRecord {
  readonly phase: 'intent' | 'result';
  readonly request_id: string;
  readonly time: string;
  readonly outage_started: string;
  readonly tool: { readonly server: string; readonly name: string };
  readonly agent: string;
  /** SHA-256 (hex) of the arguments (intent) or the output (result): nothing raw is kept. */
  readonly sha256: string;
  readonly error?: boolean;
  /** The `jti` of the fail-open metadata the call ran under. */
  readonly metadata: string;
}

export interface StoredMetadata {
  readonly metadata: string;
  readonly jwks: { readonly keys: readonly Record<string, unknown>[] };
}

export interface Journal {
  /** The public half of the journal key (an Ed25519 JWK), sent to Custos with the metadata request. */
  readonly publicJwk: Record<string, unknown>;
  /** Appends the record, signed and chained, and fsyncs it before returning. */
  append(record: JournalRecord): void;
  /** Lines not yet recorded by Custos, in order. */
  pending(): string[];
  /** Custos recorded everything up to this line. */
  markDelivered(lines: readonly string[]): void;
  saveMetadata(stored: StoredMetadata): void;
  loadMetadata(): StoredMetadata | undefined;
}

const b64url = (data: string | Buffer): string => Buffer.from(data).toString('base64url');
export const sha256Hex = (data: string): string => createHash('sha256').update(data).digest('hex');

/** Writes a file atomically (temp file, fsync, rename). */
function writeDurably(file: string, text: string, mode = 0o600): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

function loadOrCreateKey(file: string): KeyObject {
  if (existsSync(file)) return createPrivateKey({ key: JSON.parse(readFileSync(file, 'utf8')) as JsonWebKey, format: 'jwk' });
  const { privateKey } = generateKeyPairSync('ed25519');
  writeDurably(file, JSON.stringify(privateKey.export({ format: 'jwk' })));
  return privateKey;
}

function readLines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

export function openJournal(dir: string): Journal {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = {
    key: path.join(dir, 'journal-key.json'),
    metadata: path.join(dir, 'failopen.json'),
    entries: path.join(dir, 'journal.jsonl'),
    delivered: path.join(dir, 'delivered.json'),
  };
  const privateKey = loadOrCreateKey(files.key);
  const { kty, crv, x } = createPublicKey(privateKey).export({ format: 'jwk' });
  const lines = readLines(files.entries);
  let last = { seq: lines.length, hash: lines.length === 0 ? GENESIS : sha256Hex(lines.at(-1)!) };
  const delivered = (): { seq: number } => (existsSync(files.delivered) ? (JSON.parse(readFileSync(files.delivered, 'utf8')) as { seq: number }) : { seq: 0 });

  return {
    publicJwk: { kty, crv, x },
    append(record) {
      const payload = { v: 1, seq: last.seq + 1, prev: last.hash, ...record };
      const input = `${b64url(JSON.stringify({ alg: 'EdDSA', typ: JOURNAL_ENTRY_TYP }))}.${b64url(JSON.stringify(payload))}`;
      const line = `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`;
      const fd = openSync(files.entries, 'a', 0o600);
      try {
        writeSync(fd, `${line}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      last = { seq: payload.seq, hash: sha256Hex(line) };
    },
    pending() {
      return readLines(files.entries).slice(delivered().seq);
    },
    markDelivered(sent) {
      const upTo = delivered().seq + sent.length;
      writeDurably(files.delivered, JSON.stringify({ seq: upTo, hash: sent.length > 0 ? sha256Hex(sent.at(-1)!) : undefined }));
    },
    saveMetadata(stored) {
      writeDurably(files.metadata, JSON.stringify(stored));
    },
    loadMetadata() {
      return existsSync(files.metadata) ? (JSON.parse(readFileSync(files.metadata, 'utf8')) as StoredMetadata) : undefined;
    },
  };
}
