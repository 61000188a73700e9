/**
 * The trail's search index (issue 10 Deliver 6, issue 17 Measure): a table of the fields a
 * search filters on (user, agent, tier, tool, decision, data class, resource, event,
 * request_id) as terms → seq, and each row's time → seq, filled asynchronously from the trail
 * by an indexer that follows the head. A search asks the index for candidate seqs, reads those
 * rows by seq and keeps the ones `matchesQuery` accepts, then scans the rows the indexer has
 * not reached yet, so its answer is the scan's (`searchTrail`) without reading the whole trail.
 *
 * Terms are the first 16 bytes of SHA-256(field ‖ 0 ‖ value): the index holds no value in
 * the clear, and a collision only adds a candidate that `matchesQuery` then drops. The index
 * is a superset of the matches by construction; the final word is always the row itself.
 * Backends: `search-index-sqlite.ts` (a file beside the trail's, so the indexer never takes the
 * trail's write lock) and `search-index-postgres.ts` (tables of migration 4, beside the trail).
 */
import { createHash } from 'node:crypto';
import type { AuditRecord, AuditStore } from '../kernel/index.js';
import { matchesQuery, searchTrail, strings } from './search.js';
import type { AuditQuery, SearchPage, SearchPageOptions } from './search.js';

/** One row as the index holds it. */
export interface IndexedRow {
  readonly seq: number;
  /** Milliseconds since the epoch; null when the row's time does not parse (it then matches any range, as in the scan). */
  readonly ms: number | null;
  readonly terms: readonly Buffer[];
}

/** What candidates a search asks for: each group is "any of these terms", groups are all required. */
export interface CandidateFilter {
  readonly groups: readonly (readonly Buffer[])[];
  readonly fromMs?: number;
  readonly toMs?: number;
}

/** Where the index is kept. */
export interface SearchIndexBackend {
  /** Every row up to this seq is indexed. */
  indexedSeq(): Promise<number>;
  /** Adds the rows' terms and times and moves the mark to `upTo`, in one transaction; adding a row twice is harmless. */
  add(rows: readonly IndexedRow[], upTo: number): Promise<void>;
  /** Seqs in (afterSeq, upTo] that may match, ascending, at most `limit`. */
  candidates(filter: CandidateFilter, afterSeq: number, upTo: number, limit: number): Promise<number[]>;
  close(): Promise<void>;
}

/** A resource term that stands for "too many paths to index: always a candidate". */
const RESOURCE_ANY = '\u0000any';
/** Most resource terms (paths and their `/`-suffixes) indexed for one row; beyond that the row is always a resource candidate. */
export const MAX_RESOURCE_TERMS = 256;

export const term = (field: string, value: string): Buffer => createHash('sha256').update(`${field}\u0000${value}`).digest().subarray(0, 16);

/** A value and each of its suffixes after a `/`: every resource query this value answers (see `matchesResource`). */
function resourceKeys(value: string, into: Set<string>): void {
  into.add(value);
  for (let i = value.indexOf('/'); i >= 0; i = value.indexOf('/', i + 1)) into.add(value.slice(i + 1));
}

/** The terms of one row: exactly the values `matchesQuery` compares a query with. */
export function indexTerms(record: AuditRecord): Buffer[] {
  const pairs: Array<[string, string]> = [
    ['event', record.event],
    ['request', record.request_id],
  ];
  const str = (v: unknown): v is string => typeof v === 'string';
  if (str(record.user?.sub)) pairs.push(['user', record.user.sub]);
  if (str(record.user?.email)) pairs.push(['user', record.user.email]);
  if (str(record.agent?.name)) pairs.push(['agent', record.agent.name]);
  if (str(record.agent?.tier)) pairs.push(['tier', record.agent.tier]);
  if (str(record.tool?.name)) pairs.push(['tool', record.tool.name]);
  pairs.push(['tool', `${record.tool?.server}/${record.tool?.name}`]); // the scan compares this form even without a tool
  if (str(record.policy?.decision)) pairs.push(['decision', record.policy.decision]);
  for (const c of record.data_classes ?? []) if (str(c)) pairs.push(['class', c]);
  const found = strings(record.input?.redacted);
  if (record.kind === 'resource' && str(record.tool?.name)) found.push(record.tool.name);
  const keys = new Set<string>();
  for (const s of found) {
    resourceKeys(s, keys);
    if (keys.size > MAX_RESOURCE_TERMS) break;
  }
  if (keys.size > MAX_RESOURCE_TERMS) pairs.push(['resource', RESOURCE_ANY]);
  else for (const k of keys) pairs.push(['resource', k]);
  return pairs.map(([f, v]) => term(f, v));
}

export function toIndexedRow(record: AuditRecord): IndexedRow {
  const ms = Date.parse(record.time);
  return { seq: record.seq, ms: Number.isNaN(ms) ? null : ms, terms: indexTerms(record) };
}

/** The query as index lookups. */
export function candidateFilter(q: AuditQuery): CandidateFilter {
  const groups: Buffer[][] = [];
  const one = (field: string, value: string | undefined) => value !== undefined && groups.push([term(field, value)]);
  one('event', q.event);
  one('request', q.requestId);
  one('user', q.user);
  one('agent', q.agent);
  one('tier', q.tier);
  one('tool', q.tool);
  one('decision', q.decision);
  one('class', q.dataClass);
  if (q.resource !== undefined) groups.push([term('resource', q.resource), term('resource', RESOURCE_ANY)]);
  const fromMs = q.from === undefined ? undefined : Date.parse(q.from);
  const toMs = q.to === undefined ? undefined : Date.parse(q.to);
  return { groups, ...(fromMs !== undefined ? { fromMs } : {}), ...(toMs !== undefined ? { toMs } : {}) };
}

/**
 * The candidates query both SQL backends run (`?` or `$n` placeholders): driven by the first
 * term's (term, seq) key when there is one, else by the times table, in seq order.
 */
export function candidateSql(
  filter: CandidateFilter,
  bounds: { readonly afterSeq: number; readonly upTo: number; readonly limit: number },
  tables: { readonly terms: string; readonly times: string },
  ph: (i: number) => string,
): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const p = (v: unknown) => (params.push(v), ph(params.length));
  const inList = (g: readonly Buffer[]) => g.map((t) => p(t)).join(', ');
  const [first, ...rest] = filter.groups;
  const drive = first ? 'g0' : 'x';
  const joins: string[] = [];
  const where: string[] = [];
  // Parameters are pushed in the order they appear in the text: `?` placeholders bind by position.
  rest.forEach((g, i) => joins.push(`JOIN ${tables.terms} g${i + 1} ON g${i + 1}.seq = ${drive}.seq AND g${i + 1}.term IN (${inList(g)})`));
  if (first) where.push(`g0.term IN (${inList(first)})`);
  const timed = filter.fromMs !== undefined || filter.toMs !== undefined;
  if (first && timed) joins.push(`JOIN ${tables.times} x ON x.seq = g0.seq`);
  if (filter.fromMs !== undefined) where.push(`(x.ms IS NULL OR x.ms >= ${p(filter.fromMs)})`);
  if (filter.toMs !== undefined) where.push(`(x.ms IS NULL OR x.ms < ${p(filter.toMs)})`);
  return {
    sql: `SELECT ${drive}.seq AS seq FROM ${first ? tables.terms : tables.times} ${drive} ${joins.join(' ')} WHERE ${[...where, `${drive}.seq > ${p(bounds.afterSeq)}`, `${drive}.seq <= ${p(bounds.upTo)}`].join(' AND ')} ORDER BY ${drive}.seq LIMIT ${p(bounds.limit)}`,
    params,
  };
}

export interface SearchIndexOptions {
  /** Rows read and indexed per transaction (default 500). */
  readonly batchRows?: number;
  /** How long the indexer waits at the head before looking again (default 1000 ms). */
  readonly idleMs?: number;
  /** Most un-indexed rows a search scans for one page (default 100 000, as `searchTrail`). */
  readonly maxScan?: number;
  /** Called when a round of indexing fails (it is retried after `idleMs`). */
  readonly onError?: (err: unknown) => void;
}

export interface SearchIndex {
  /** Same answer as `searchTrail(store, query, page)`, through the index. */
  search(query: AuditQuery, page?: SearchPageOptions): Promise<SearchPage>;
  /** Indexes every row up to the head now; resolves with the seq indexed to. */
  catchUp(): Promise<number>;
  /** Follows the head in the background until `close`. */
  start(): void;
  close(): Promise<void>;
}

/** Consecutive seqs as [first, count] runs, read with one query each. */
function runs(seqs: readonly number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const s of seqs) {
    const last = out.at(-1);
    if (last && last[0] + last[1] === s) last[1] += 1;
    else out.push([s, 1]);
  }
  return out;
}

export function createSearchIndex(
  store: AuditStore & { head(): Promise<{ seq: number }> },
  backend: SearchIndexBackend,
  options: SearchIndexOptions = {},
): SearchIndex {
  const batchRows = options.batchRows ?? 500;
  const idleMs = options.idleMs ?? 1000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let closed = false;

  async function indexOnce(): Promise<number> {
    let mark = await backend.indexedSeq();
    for (;;) {
      const rows: IndexedRow[] = [];
      let last = mark;
      for await (const r of store.read({ fromSeq: mark + 1, limit: batchRows })) {
        rows.push(toIndexedRow(r));
        last = r.seq;
      }
      if (rows.length === 0) return mark;
      await backend.add(rows, last);
      mark = last;
      if (rows.length < batchRows || closed) return mark;
    }
  }

  /** One indexing round at a time, shared by every caller. */
  const catchUp = (): Promise<number> => {
    running ??= indexOnce().finally(() => {
      running = undefined;
    });
    return running;
  };

  const loop = (): void => {
    if (closed) return;
    catchUp()
      .catch((err: unknown) => options.onError?.(err))
      .finally(() => {
        if (!closed) timer = setTimeout(loop, idleMs);
      });
  };

  async function search(query: AuditQuery, page: SearchPageOptions = {}): Promise<SearchPage> {
    const limit = page.limit ?? 100;
    const filter = candidateFilter(query);
    const upTo = await backend.indexedSeq();
    const records: AuditRecord[] = [];
    let cursor = page.afterSeq ?? 0;
    const want = Math.max(limit, 100);
    while (cursor < upTo) {
      const seqs = await backend.candidates(filter, cursor, upTo, want);
      for (const [first, count] of runs(seqs)) {
        for await (const r of store.read({ fromSeq: first, limit: count })) {
          if (r.seq >= first + count) break; // purged rows are gone: the read went past the run
          if (!matchesQuery(r, query)) continue;
          records.push(r);
          if (records.length >= limit) return { records, next_after_seq: r.seq };
        }
      }
      if (seqs.length < want) break;
      cursor = seqs.at(-1)!;
    }
    cursor = Math.max(cursor, upTo);
    const tail = await searchTrail(store, query, { afterSeq: cursor, limit: limit - records.length, ...(options.maxScan ? { maxScan: options.maxScan } : {}) });
    return { records: [...records, ...tail.records], ...(tail.next_after_seq !== undefined ? { next_after_seq: tail.next_after_seq } : {}) };
  }

  return {
    search,
    catchUp,
    start() {
      if (!timer && !closed) timer = setTimeout(loop, 0);
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
      await backend.close();
    },
  };
}
