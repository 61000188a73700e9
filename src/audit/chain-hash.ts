/**
 * The chain format (docs/audit-schema.md is the normative description):
 *   hash = SHA-256_hex( prev_hash ‖ JCS(record without "hash") )
 * where ‖ concatenates the 64-char lowercase hex prev_hash and the RFC 8785 canonical JSON,
 * hashed as UTF-8. The first record's prev_hash is GENESIS_HASH.
 */
import { canonicalize, sha256Hex } from '../kernel/index.js';
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
 * The record's top-level members in RFC 8785 form, without the chain fields (`seq`,
 * `prev_hash`, `hash`), which the store adds inside its transaction. Members whose value
 * JSON would drop (undefined, functions) are left out, as `canonicalize` does.
 */
export function canonicalMembers(fields: object): Array<[key: string, text: string]> {
  return Object.entries(fields)
    .filter(([k, v]) => v !== undefined && typeof v !== 'function' && k !== 'seq' && k !== 'prev_hash' && k !== 'hash')
    .map(([k, v]): [string, string] => [k, `${JSON.stringify(k)}:${canonicalize(v)}`]);
}
