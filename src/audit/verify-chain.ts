/**
 * Recomputes the chain over records in seq order and reports the first row that does
 * not hold. Stops at the first break: everything after it is unverifiable anyway.
 */
import { hash } from 'node:crypto';
import { AUDIT_SCHEMA, GENESIS_HASH, canonicalize } from '../kernel/index.js';
import type { AuditRecord } from '../kernel/index.js';
import { isCanonicalJsonText } from './canonical-text.js';
import { computeRecordHash } from './chain-hash.js';
import { PURGED_SCHEMA, isTombstone, purgedRanges } from './retention-format.js';
import { SEALED_SCHEMA } from './seal-format.js';
import type { ChainHead, RawRow, VerifyFailure, VerifyReport } from './types.js';

/** What verifyChain accepts: parsed records, stored rows, or JSONL lines (canonical JSON text). */
export type VerifiableItem = AuditRecord | RawRow | string;

export interface VerifyOptions {
  /** Verify a suffix: the (seq, hash) the first item must follow. Default: seq 0 and GENESIS_HASH. */
  readonly after?: ChainHead;
  /**
   * A head known from elsewhere (a checkpoint, an earlier export, a SIEM): the chain must
   * reach it, so rows cut off the end are reported as `truncated`, and the row at its seq
   * must carry its hash (`hash_mismatch` otherwise, e.g. a chain rebuilt since).
   */
  readonly expectHead?: ChainHead;
  /** Called with each record that verified, in order (the verifier parses each item once). */
  readonly onRecord?: (record: AuditRecord) => void;
}

type Checked = { ok: true; record: AuditRecord } | { ok: false; seq: number; reason: VerifyFailure };

const HEX64 = /^[0-9a-f]{64}$/;

export async function verifyChain(items: AsyncIterable<VerifiableItem> | Iterable<VerifiableItem>, options: VerifyOptions = {}): Promise<VerifyReport> {
  const walk = new ChainWalk(options);
  if (Symbol.iterator in items) {
    for (const item of items) if (!walk.step(item)) break;
  } else {
    for await (const item of items) if (!walk.step(item)) break;
  }
  return walk.finish();
}

/**
 * The chain check one item at a time, synchronously (verifyChain drives it; a caller that
 * holds its items in memory drives it without a promise per row): `step` is false once the
 * chain broke, and `finish` gives the report.
 */
export class ChainWalk {
  private prev: ChainHead;
  private count = 0;
  private broken: VerifyReport | undefined;
  private readonly purges = new PurgeLedger();

  constructor(private readonly options: VerifyOptions = {}) {
    this.prev = options.after ?? { seq: 0, hash: GENESIS_HASH };
  }

  /** Rows verified so far. */
  get verified(): number {
    return this.count;
  }

  step(item: VerifiableItem): boolean {
    if (this.broken) return false;
    const { prev, count } = this;
    const expected = this.options.expectHead;
    const checked = checkItem(item, prev);
    if (!checked.ok) {
      this.broken = this.purges.firstUnrecorded() ?? broken(count, prev, checked.seq, checked.reason);
      return false;
    }
    // A head held elsewhere pins its row even after the trail has grown past it (a rebuilt chain).
    if (expected && checked.record.seq === expected.seq && checked.record.hash !== expected.hash) {
      this.broken = broken(count, prev, expected.seq, 'hash_mismatch');
      return false;
    }
    this.purges.see(checked.record, count, prev);
    this.prev = { seq: checked.record.seq, hash: checked.record.hash };
    this.count += 1;
    this.options.onRecord?.(checked.record);
    return true;
  }

  /**
   * Takes a chunk another thread found clean (verify-parallel.ts): `rows` rows from `first` to
   * `last`, each sound and linked to the one before. False (nothing taken) when the chunk does
   * not follow the head or holds the expected head's seq: the caller then steps through it.
   * `special` are its checkpoint and admin rows, parsed, for the purge ledger.
   */
  advance(rows: number, first: { seq: number; prevHash: string }, last: ChainHead, special: readonly AuditRecord[]): boolean {
    const expected = this.options.expectHead;
    if (this.broken || first.seq !== this.prev.seq + 1 || first.prevHash !== this.prev.hash) return false;
    if (expected && expected.seq >= first.seq && expected.seq <= last.seq) return false;
    for (const record of special) this.purges.see(record, this.count, this.prev);
    this.prev = { seq: last.seq, hash: last.hash };
    this.count += rows;
    return true;
  }

  finish(): VerifyReport {
    if (this.broken) return this.broken;
    const { prev, count } = this;
    const expected = this.options.expectHead;
    const unrecorded = this.purges.firstUnrecorded();
    if (unrecorded) return unrecorded;
    if (expected && prev.seq < expected.seq) return broken(count, prev, prev.seq + 1, 'truncated');
    return count === 0 ? { ok: true, count } : { ok: true, count, head: prev };
  }
}

/**
 * Purged rows (tombstones) keep their seq, prev_hash and hash, so the chain links through
 * them; each must be listed by the retention purge row its `purged_by` names, which comes
 * after it. A tombstone nothing lists is reported as `purge_unrecorded`.
 */
class PurgeLedger {
  /** Tombstones waiting for their purge row, by the seq of that row. */
  private readonly waiting = new Map<number, Array<{ seq: number; count: number; prev: ChainHead }>>();
  private failed: VerifyReport | undefined;

  see(record: AuditRecord, count: number, prev: ChainHead): void {
    if ((record.schema as string) === PURGED_SCHEMA) {
      const by = (record as unknown as { purged_by?: unknown }).purged_by;
      const at = { seq: record.seq, count, prev };
      if (typeof by !== 'number' || by <= record.seq) this.fail(at);
      else this.waiting.set(by, [...(this.waiting.get(by) ?? []), at]);
      return;
    }
    const tombstones = this.waiting.get(record.seq);
    if (!tombstones) return;
    this.waiting.delete(record.seq);
    const ranges = purgedRanges(record);
    for (const t of tombstones) if (!ranges?.some(([from, to]) => t.seq >= from && t.seq <= to)) this.fail(t);
  }

  firstUnrecorded(): VerifyReport | undefined {
    for (const list of this.waiting.values()) for (const t of list) this.fail(t);
    this.waiting.clear();
    return this.failed;
  }

  private fail(t: { seq: number; count: number; prev: ChainHead }): void {
    if (!this.failed || t.seq < (this.failed.firstBrokenSeq ?? Infinity)) this.failed = broken(t.count, t.prev, t.seq, 'purge_unrecorded');
  }
}

function broken(count: number, prev: ChainHead, firstBrokenSeq: number, reason: VerifyFailure): VerifyReport {
  const report = { ok: false, count, firstBrokenSeq, reason };
  return count === 0 ? report : { ...report, head: prev };
}

function checkItem(item: VerifiableItem, prev: ChainHead): Checked {
  const expected = prev.seq + 1;
  if (typeof item === 'string') return checkText(item, expected, prev);
  if (isRawRow(item)) {
    const checked = checkText(item.json, item.seq, prev, item.seq);
    if (checked.ok && checked.record.hash !== item.hash) return { ok: false, seq: item.seq, reason: 'hash_column_mismatch' };
    return checked;
  }
  return checkRecord(item, expected, prev);
}

function isRawRow(item: AuditRecord | RawRow): item is RawRow {
  return typeof (item as Partial<RawRow>).json === 'string' && !('schema' in item);
}

/**
 * `at` is where a failure is reported when the text gives no usable seq; `columnSeq` is
 * the seq the store filed the row under, which the text must repeat. The text is parsed
 * once; when it is already canonical its hash is taken over the text itself (see
 * `hashOfCanonicalText`) instead of canonicalising the record again.
 */
function checkText(text: string, at: number, prev: ChainHead, columnSeq?: number): Checked {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, seq: at, reason: 'unparseable' };
  }
  if ((parsed as { schema?: unknown } | null)?.schema === SEALED_SCHEMA) return { ok: false, seq: columnSeq ?? at, reason: 'undecryptable' };
  if (columnSeq !== undefined && (parsed as Partial<AuditRecord> | null)?.seq !== columnSeq) {
    return { ok: false, seq: Math.min(columnSeq, prev.seq + 1), reason: 'seq_mismatch' };
  }
  const shaped = checkLinks(parsed, at, prev);
  if (!shaped.ok || isPurged(shaped.record)) return shaped;
  const record = shaped.record;
  if (!isCanonicalText(parsed, text)) {
    // Same verdict order as for a parsed record: a wrong hash first, then the form.
    if (computeRecordHash(record) !== record.hash) return { ok: false, seq: record.seq, reason: 'hash_mismatch' };
    return { ok: false, seq: record.seq, reason: 'non_canonical' };
  }
  if (hashOfCanonicalText(text, record) !== record.hash) return { ok: false, seq: record.seq, reason: 'hash_mismatch' };
  return shaped;
}

/**
 * The record hash from its canonical text: the text without its top-level `,"hash":"H"`
 * member is exactly JCS(record without hash), because removing a member from a canonical
 * object leaves a canonical object. The member is found as the first `,"hash":"H"` with
 * H the record's own hash: inside a JSON string a `"` is always escaped, so the match is
 * a member, and a nested member carrying H before the top-level one would need H inside
 * its own SHA-256 preimage. Falls back to recomputing when the member is not found.
 */
function hashOfCanonicalText(text: string, record: AuditRecord): string {
  const member = `,"hash":${JSON.stringify(record.hash)}`;
  const at = text.indexOf(member);
  if (at < 0) return computeRecordHash(record);
  return hash('sha256', record.prev_hash + text.slice(0, at) + text.slice(at + member.length));
}

/**
 * Whether `text` is the RFC 8785 form of `parsed`: shown in one pass over the text
 * (canonical-text.ts), else (the rare forms that check leaves open, or a text that is not
 * canonical) decided by the full canonicaliser.
 */
function isCanonicalText(parsed: unknown, text: string): boolean {
  if (isCanonicalJsonText(text)) return true;
  try {
    return canonicalize(parsed) === text;
  } catch {
    return false;
  }
}

function checkRecord(value: unknown, at: number, prev: ChainHead): Checked {
  const linked = checkLinks(value, at, prev);
  if (!linked.ok || isPurged(linked.record)) return linked;
  const record = linked.record;
  if (computeRecordHash(record) !== record.hash) return { ok: false, seq: record.seq, reason: 'hash_mismatch' };
  return linked;
}

/** A purged row's body is gone: its hash is taken as stored, pinned by the next row's prev_hash and the signed tree. */
function isPurged(record: AuditRecord): boolean {
  return (record.schema as string) === PURGED_SCHEMA;
}

/** Shape, seq and prev_hash: everything but the record's own hash. */
function checkLinks(value: unknown, at: number, prev: ChainHead): Checked {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, seq: at, reason: 'malformed' };
  const record = value as AuditRecord;
  const schema = record.schema as string;
  if (schema === SEALED_SCHEMA) return { ok: false, seq: at, reason: 'undecryptable' };
  if (schema !== AUDIT_SCHEMA && schema !== PURGED_SCHEMA) return { ok: false, seq: at, reason: 'schema_mismatch' };
  if (!Number.isSafeInteger(record.seq) || typeof record.hash !== 'string' || typeof record.prev_hash !== 'string') {
    return { ok: false, seq: at, reason: 'malformed' };
  }
  const expected = prev.seq + 1;
  if (record.seq > expected) return { ok: false, seq: expected, reason: 'seq_gap' };
  if (record.seq < expected) return { ok: false, seq: expected, reason: 'seq_regression' };
  if (record.prev_hash !== prev.hash) return { ok: false, seq: record.seq, reason: 'prev_hash_mismatch' };
  if (!HEX64.test(record.hash)) return { ok: false, seq: record.seq, reason: 'hash_mismatch' };
  if (schema === PURGED_SCHEMA && !isTombstone(record)) return { ok: false, seq: record.seq, reason: 'malformed' };
  return { ok: true, record };
}
