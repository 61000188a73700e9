/**
 * Retention: which rows a purge may remove. A row's record class is its `event`; each class
 * is kept `days` (default six years), never less than the configured minimum. Legal holds are
 * rows in the trail itself (`admin` rows `legal_hold_placed` / `legal_hold_released`), by user,
 * tenant or time range; a row any open hold covers is kept whatever its age. Rows the
 * verifier needs are never purged: checkpoints, purge and hold rows, and rows already purged.
 * The plan is pure: it reads the rows, it writes nothing (`custos audit purge` without
 * `--yes` prints it).
 */
import { CustosError } from '../kernel/index.js';
import type { AuditEvent, AuditRecord } from '../kernel/index.js';
import { PURGE_ACTION, isPurgedRow } from './retention-format.js';
import type { Tombstone } from './retention-format.js';

export const HOLD_PLACED = 'legal_hold_placed' as const;
export const HOLD_RELEASED = 'legal_hold_released' as const;
/** Six years (HIPAA 164.316(b)(2)(i)), counting two leap days. */
export const SIX_YEARS_DAYS = 6 * 365 + 2;
const DAY_MS = 86_400_000;

export interface RetentionSettings {
  /** No class may be kept less than this. */
  readonly minimumDays: number;
  /** Classes not named in `classes`. */
  readonly defaultDays: number;
  readonly classes: Readonly<Partial<Record<AuditEvent, number>>>;
}

/** A legal hold as its row states it: every bound given must match (an empty hold would hold everything and is refused when placed). */
export interface LegalHold {
  readonly hold_id: string;
  readonly user?: string;
  readonly tenant?: string;
  /** RFC 3339; the row's time must be at or after it. */
  readonly from?: string;
  /** RFC 3339; the row's time must be before it. */
  readonly to?: string;
  readonly reason: string;
  /** Seq of the row that placed it. */
  readonly placed_at: number;
}

export interface PurgePlan {
  /** Seqs to purge, as inclusive ranges in ascending order. */
  readonly ranges: ReadonlyArray<readonly [number, number]>;
  readonly rows: number;
  /** Rows past retention kept because a hold covers them. */
  readonly held: number;
  /** Per class: the cutoff (rows before it are past retention) and how many rows are purged. */
  readonly classes: Readonly<Record<string, { readonly cutoff: string; readonly purged: number }>>;
  /** Holds open when the plan was made. */
  readonly holds: readonly LegalHold[];
  /** The trail's head seq when the plan was made. */
  readonly head: number;
}

/** Refuses settings that would keep any class less than the minimum. */
export function checkRetention(settings: RetentionSettings): void {
  const short = Object.entries(settings.classes).filter(([, days]) => (days ?? Infinity) < settings.minimumDays);
  if (settings.defaultDays < settings.minimumDays || short.length > 0) {
    throw new CustosError(
      'ERR_AUDIT_PURGE_REFUSED',
      `retention below the minimum of ${settings.minimumDays} days: ${[...(settings.defaultDays < settings.minimumDays ? ['default'] : []), ...short.map(([c]) => c)].join(', ')}`,
    );
  }
}

/** Rows a purge never removes: what the verifier and the holds need. */
function isProtected(record: AuditRecord): boolean {
  if (record.event === 'checkpoint') return true;
  const action = record.event === 'admin' ? record.detail?.action : undefined;
  return action === PURGE_ACTION || action === HOLD_PLACED || action === HOLD_RELEASED;
}

export function holdCovers(hold: LegalHold, record: AuditRecord): boolean {
  if (hold.user !== undefined && record.user?.sub !== hold.user) return false;
  if (hold.tenant !== undefined && record.user?.tenant !== hold.tenant) return false;
  const time = Date.parse(record.time);
  if (hold.from !== undefined && !(time >= Date.parse(hold.from))) return false;
  if (hold.to !== undefined && !(time < Date.parse(hold.to))) return false;
  return true;
}

/** The holds a trail's rows place and release, open ones only, in the order placed. */
export function collectHold(record: AuditRecord, open: Map<string, LegalHold>): void {
  if (record.event !== 'admin' || !record.detail) return;
  const d = record.detail;
  if (d.action === HOLD_PLACED && typeof d.hold_id === 'string') {
    const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
    const bounds = { user: str(d.user), tenant: str(d.tenant), from: str(d.from), to: str(d.to) };
    const hold = Object.fromEntries(Object.entries(bounds).filter(([, v]) => v !== undefined));
    open.set(d.hold_id, { hold_id: d.hold_id, ...hold, reason: str(d.reason) ?? '', placed_at: record.seq });
  } else if (d.action === HOLD_RELEASED && typeof d.hold_id === 'string') open.delete(d.hold_id);
}

interface Candidate {
  readonly seq: number;
  readonly cls: string;
  readonly record: Pick<AuditRecord, 'user' | 'time'>;
}

/** Reads every row once and returns what a purge at `now` would remove. */
export async function planPurge(
  rows: AsyncIterable<AuditRecord | Tombstone> | Iterable<AuditRecord | Tombstone>,
  settings: RetentionSettings,
  now: Date,
): Promise<PurgePlan> {
  checkRetention(settings);
  const cutoffOf = (cls: string): number => now.getTime() - (settings.classes[cls as AuditEvent] ?? settings.defaultDays) * DAY_MS;
  const holds = new Map<string, LegalHold>();
  const candidates: Candidate[] = [];
  let head = 0;
  for await (const row of rows) {
    head = row.seq;
    if (isPurgedRow(row)) continue;
    collectHold(row, holds);
    if (isProtected(row) || !(Date.parse(row.time) < cutoffOf(row.event))) continue;
    candidates.push({ seq: row.seq, cls: row.event, record: { user: row.user, time: row.time } });
  }
  const open = [...holds.values()];
  const classes: Record<string, { cutoff: string; purged: number }> = {};
  const seqs: number[] = [];
  let held = 0;
  for (const c of candidates) {
    if (open.some((h) => holdCovers(h, c.record as AuditRecord))) {
      held += 1;
      continue;
    }
    seqs.push(c.seq);
    classes[c.cls] ??= { cutoff: new Date(cutoffOf(c.cls)).toISOString(), purged: 0 };
    classes[c.cls]!.purged += 1;
  }
  return { ranges: toRanges(seqs), rows: seqs.length, held, classes, holds: open, head };
}

/** Ascending seqs → inclusive ranges. */
export function toRanges(seqs: readonly number[]): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (const seq of seqs) {
    const last = ranges.at(-1);
    if (last && seq === last[1] + 1) last[1] = seq;
    else ranges.push([seq, seq]);
  }
  return ranges;
}

/** Splits ranges into batches of at most `size` rows each (one purge row and one transaction per batch). */
export function batchRanges(ranges: ReadonlyArray<readonly [number, number]>, size: number): Array<Array<[number, number]>> {
  const batches: Array<Array<[number, number]>> = [];
  let current: Array<[number, number]> = [];
  let count = 0;
  for (const [from, to] of ranges) {
    let start = from;
    while (start <= to) {
      const end = Math.min(to, start + (size - count) - 1);
      current.push([start, end]);
      count += end - start + 1;
      start = end + 1;
      if (count === size) {
        batches.push(current);
        current = [];
        count = 0;
      }
    }
  }
  if (current.length) batches.push(current);
  return batches;
}
