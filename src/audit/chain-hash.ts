/**
 * The chain format (docs/audit-schema.md is the normative description):
 *   hash = SHA-256_hex( prev_hash ‖ JCS(record without "hash") )
 * where ‖ concatenates the 64-char lowercase hex prev_hash and the RFC 8785 canonical JSON,
 * hashed as UTF-8. The first record's prev_hash is GENESIS_HASH.
 */
import { canonicalize, sha256Hex, sortedKeys } from '../kernel/index.js';
import type { AuditRecord } from '../kernel/index.js';

/** The hash a record must carry, computed from every other field. */
export function computeRecordHash(record: Omit<AuditRecord, 'hash'>): string {
  const { hash: _ignored, ...rest } = record as Omit<AuditRecord, 'hash'> & { hash?: unknown };
  return sha256Hex(record.prev_hash + canonicalize(rest));
}

/** Builds the chained record that follows `prev`, and its canonical text as stored. */
export function chainRecord(
  fields: Omit<AuditRecord, 'hash' | 'seq' | 'prev_hash'>,
  prev: { readonly seq: number; readonly hash: string },
): { record: AuditRecord; json: string } {
  const { seq: _s, prev_hash: _p, hash: _h, ...rest } = fields as typeof fields & Partial<AuditRecord>;
  const unhashed = { ...rest, seq: prev.seq + 1, prev_hash: prev.hash };
  const hash = sha256Hex(prev.hash + canonicalize(unhashed));
  const json = canonicalize({ ...unhashed, hash });
  return { record: JSON.parse(json) as AuditRecord, json };
}

/**
 * The record's RFC 8785 text without the chain fields, cut where the store inserts them:
 * `[before "hash", between "hash" and "prev_hash", between "prev_hash" and "seq", after "seq"]`,
 * each a comma-joined run of `"key":value` members (possibly empty). The store merges
 * `hash`, `prev_hash` and `seq` in with string concatenation (`renderChainedRecord`), so a
 * row costs one canonicalisation, outside the store's transaction. Members whose value JSON
 * would drop (undefined, functions) are left out, as `canonicalize` does.
 */
export type CanonicalSegments = readonly [string, string, string, string];

export function canonicalSegments(fields: object): CanonicalSegments {
  const runs: [string[], string[], string[], string[]] = [[], [], [], []];
  for (const key of sortedKeys(fields)) {
    const value = (fields as Record<string, unknown>)[key];
    if (value === undefined || typeof value === 'function' || key === 'seq' || key === 'prev_hash' || key === 'hash') continue;
    const run = key < 'hash' ? 0 : key < 'prev_hash' ? 1 : key < 'seq' ? 2 : 3;
    runs[run].push(`${JSON.stringify(key)}:${fastCanonical(value)}`);
  }
  return [runs[0].join(','), runs[1].join(','), runs[2].join(','), runs[3].join(',')];
}

/**
 * The record's canonical text with `hash` (when given), `prev_hash` and `seq` merged into its
 * other members, cut by `canonicalSegments` where RFC 8785's order puts them. Equal to
 * `chainRecord` (a test holds them together). Shipped to the SQLite writer thread as source:
 * it may use only its parameters and globals.
 */
export function renderChainedRecord(segments: readonly string[], seq: number, prevHash: string, hash?: string): string {
  const parts = [
    segments[0],
    hash === undefined ? '' : `"hash":${JSON.stringify(hash)}`,
    segments[1],
    `"prev_hash":${JSON.stringify(prevHash)}`,
    segments[2],
    `"seq":${seq}`,
    segments[3],
  ];
  let out = '';
  for (const part of parts) if (part) out += out === '' ? part : `,${part}`;
  return `{${out}}`;
}

/** Past this depth (or on anything unusual) the kernel's iterative canonicaliser takes over. */
const FAST_DEPTH = 32;
class NotFast extends Error {}

/** `canonicalize(value)`, by plain recursion for the common shapes of an audit row (several times faster). */
function fastCanonical(value: unknown): string {
  try {
    return jcs(value, 0);
  } catch (err) {
    if (err instanceof NotFast) return canonicalize(value);
    throw err;
  }
}

function jcs(input: unknown, depth: number): string {
  let value = input;
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON: () => unknown }).toJSON();
    if (typeof value === 'object' && value !== null) throw new NotFast();
  }
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new NotFast();
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new NotFast();
  }
  if (depth >= FAST_DEPTH) throw new NotFast(); // deep, or a cycle: the kernel's canonicaliser decides
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i += 1) {
      const item: unknown = value[i];
      if (typeof item === 'function') throw new NotFast();
      out += (i > 0 ? ',' : '') + (item === undefined ? 'null' : jcs(item, depth + 1));
    }
    return `${out}]`;
  }
  let out = '{';
  for (const key of sortedKeys(value)) {
    const item: unknown = (value as Record<string, unknown>)[key];
    if (item === undefined || typeof item === 'function') continue;
    out += `${out.length > 1 ? ',' : ''}${JSON.stringify(key)}:${jcs(item, depth + 1)}`;
  }
  return `${out}}`;
}
