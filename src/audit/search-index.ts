/**
 * The trail's search index (issue 10 Deliver 6, issue 17 Measure): a table of the fields a
 * search filters on (user, agent, tier, tool, decision, data class, resource, event,
 * request_id) as terms → seq, and each row's time → seq, filled asynchronously from the trail
 * by an indexer that follows the head. A search asks the index for candidate seqs, reads those
 * rows by seq and keeps the ones `matchesQuery` accepts, then scans the rows the indexer has
 * not reached yet, so its answer is the scan's (`searchTrail`) without reading the whole trail.
 *
 * Terms are the first 16 bytes of HMAC-SHA256(term key, field ‖ 0 ‖ value), the term key
 * derived from the registry's `hmac` key `audit.search.indexKey` (`termKeyOf`): whoever holds
 * the index but not the key cannot test a guessed value (an email) against it. Without an index
 * key (a trail not encrypted, whose rows hold the values in the clear anyway) a term is the first
 * 16 bytes of SHA-256(field ‖ 0 ‖ value). A collision only adds a candidate that `matchesQuery`
 * then drops: the index is a superset of the matches by construction; the final word is always
 * the row itself. The index records the key it was built with (`IndexState.keyTag`) and is
 * rebuilt when that changes. Backends: `search-index-sqlite.ts` (a file beside the trail's, so
 * the indexer never takes the trail's write lock) and `search-index-postgres.ts` (tables of
 * migrations 4 and 5 beside the trail, one indexer per deployment under an advisory lock).
 */
import { createHash, createHmac } from 'node:crypto';
import type { AuditRecord, AuditStore } from '../kernel/index.js';
import { disclosureOf, disclosureResources, matchesQuery, searchTrail, strings } from './search.js';
import type { AuditQuery, DisclosureOptions, DisclosureReport, SearchPage, SearchPageOptions } from './search.js';

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

/** What the index holds: terms made with the key `keyTag` names, every row up to `seq` indexed. */
export interface IndexState {
  readonly keyTag: string;
  readonly seq: number;
  /** The mark of an older Custos' indexer (unkeyed terms, no state) when this state was set. */
  readonly legacySeq: number;
}

/** Where the index is kept. */
export interface SearchIndexBackend {
  /** The state (undefined before this version first built the index) and the mark an older Custos' indexer moves (0 when none). */
  state(): Promise<{ readonly state?: IndexState; readonly legacyMark: number }>;
  /** Whether this process is the one indexer of the deployment (PostgreSQL: holds the advisory lock; tries to take it). */
  lead(): Promise<boolean>;
  /** Drops every term and time of a seq above `state.seq` and sets the state, in one transaction. */
  reset(state: IndexState): Promise<void>;
  /** Adds the rows' terms and times and moves the state's seq to `upTo`, in one transaction; adding a row twice is harmless. */
  add(rows: readonly IndexedRow[], upTo: number): Promise<void>;
  /** Seqs in (afterSeq, upTo] that may match, ascending, at most `limit`. */
  candidates(filter: CandidateFilter, afterSeq: number, upTo: number, limit: number): Promise<number[]>;
  close(): Promise<void>;
}

/** A resource term that stands for "too many paths to index: always a candidate". */
const RESOURCE_ANY = '\u0000any';
/** Most resource terms (paths and their `/`-suffixes) indexed for one row; beyond that the row is always a resource candidate. */
export const MAX_RESOURCE_TERMS = 256;

/** An HMAC-SHA256 key the index takes by shape (the registry's `hmac` keys have it; src/app wires one in). */
export interface IndexMacKey {
  readonly id: string;
  mac(data: Buffer): Buffer;
}

/** How terms are made: `keyTag` names the key (its id and a check value, never the key) and is recorded with the index. */
export interface TermKey {
  readonly keyTag: string;
  term(field: string, value: string): Buffer;
}

/** Most terms remembered by one term key: users, agents, tools, decisions and classes repeat from row to row. */
const TERM_CACHE = 65_536;

/** `make` with the last TERM_CACHE (field, value) terms remembered (the whole memory dropped when full). */
function cachedTerms(make: (text: string) => Buffer): (field: string, value: string) => Buffer {
  const cache = new Map<string, Buffer>();
  return (field, value) => {
    const text = `${field}\u0000${value}`;
    let t = cache.get(text);
    if (t === undefined) {
      if (cache.size >= TERM_CACHE) cache.clear();
      cache.set(text, (t = make(text)));
    }
    return t;
  };
}

const UNKEYED: TermKey = { keyTag: 'sha256', term: cachedTerms((text) => createHash('sha256').update(text).digest().subarray(0, 16)) };

/**
 * The term key of an index key: one MAC by the key itself (which may live in an HSM) derives it,
 * every term is then an HMAC-SHA256 under it in this process. The check value (an HMAC of a fixed
 * text, first 8 bytes) tells a key replaced under the same id apart. No key: unkeyed SHA-256.
 */
export function termKeyOf(key: IndexMacKey | undefined): TermKey {
  if (!key) return UNKEYED;
  const derived = key.mac(Buffer.from('custos.search-index/v1'));
  const check = createHmac('sha256', derived).update('check').digest('hex').slice(0, 16);
  return { keyTag: `hmac:${key.id}:${check}`, term: cachedTerms((text) => createHmac('sha256', derived).update(text).digest().subarray(0, 16)) };
}

/** A value and each of its suffixes after a `/`: every resource query this value answers (see `matchesResource`). */
function resourceKeys(value: string, into: Set<string>): void {
  into.add(value);
  for (let i = value.indexOf('/'); i >= 0; i = value.indexOf('/', i + 1)) into.add(value.slice(i + 1));
}

/** The terms of one row: exactly the values `matchesQuery` compares a query with. */
export function indexTerms(record: AuditRecord, key: TermKey = UNKEYED): Buffer[] {
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
  return pairs.map(([f, v]) => key.term(f, v));
}

export function toIndexedRow(record: AuditRecord, key: TermKey = UNKEYED): IndexedRow {
  const ms = Date.parse(record.time);
  return { seq: record.seq, ms: Number.isNaN(ms) ? null : ms, terms: indexTerms(record, key) };
}

/** The query as index lookups. */
export function candidateFilter(q: AuditQuery, key: TermKey = UNKEYED): CandidateFilter {
  const groups: Buffer[][] = [];
  const term = (field: string, value: string) => key.term(field, value);
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
  /** The key terms are made with (`audit.search.indexKey`); absent: unkeyed SHA-256 terms. */
  readonly key?: IndexMacKey;
  /** Rows read and indexed per transaction (default 2000). */
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
  /** Same answer as `accountDisclosures(store, patient, options)`, through the index. */
  disclosures(patient: string, options: DisclosureOptions): Promise<DisclosureReport>;
  /** Indexes every row up to the head now (when this process is the indexer); resolves with the seq indexed to. */
  catchUp(): Promise<number>;
  /** Follows the head in the background until `close`. */
  start(): void;
  /**
   * A row this process appended (as its append returned it): the indexer takes it from memory
   * instead of reading it back. Rows it was not offered (other processes', or past its bound) are read.
   */
  offer(record: AuditRecord): void;
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

/**
 * The state to reset to before indexing, or undefined when the index may be added to as it is:
 * built with another key (or by an older Custos) → from scratch; an older Custos' indexer moved
 * its mark since (a rolling upgrade: unkeyed terms added above `legacySeq`) → from there.
 */
export function resetFor(keyTag: string, found: { readonly state?: IndexState; readonly legacyMark: number }): IndexState | undefined {
  const { state, legacyMark } = found;
  if (!state || state.keyTag !== keyTag) return { keyTag, seq: 0, legacySeq: legacyMark };
  if (legacyMark > state.legacySeq) return { keyTag, seq: Math.min(state.seq, state.legacySeq), legacySeq: legacyMark };
  return undefined;
}

/** Most offered rows kept for the indexer (about one idle round's worth under load); past it they are forgotten and read back. */
const MAX_OFFERED = 4000;

export function createSearchIndex(
  store: AuditStore & { head(): Promise<{ seq: number }> },
  backend: SearchIndexBackend,
  options: SearchIndexOptions = {},
): SearchIndex {
  const batchRows = options.batchRows ?? 2000;
  const idleMs = options.idleMs ?? 1000;
  const key = termKeyOf(options.key);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let closed = false;
  /** Rows this process appended, by seq, not yet indexed. */
  const offered = new Map<number, AuditRecord>();

  /** The first seq after `seq` this process offered, if any. */
  function nextOffered(seq: number): number | undefined {
    let next: number | undefined;
    for (const s of offered.keys()) if (s > seq && (next === undefined || s < next)) next = s;
    return next;
  }

  /** Rows up to this seq are indexed with this process' key; undefined: the index cannot be used (another key, or a rebuild under way). */
  async function usableUpTo(): Promise<number | undefined> {
    const { state } = await backend.state();
    return state?.keyTag === key.keyTag ? state.seq : undefined;
  }

  async function indexOnce(): Promise<number> {
    if (!(await backend.lead())) {
      offered.clear(); // another process indexes
      return (await usableUpTo()) ?? 0;
    }
    const found = await backend.state();
    const reset = resetFor(key.keyTag, found);
    if (reset) await backend.reset(reset);
    let mark = (reset ?? found.state)!.seq;
    for (;;) {
      const rows: IndexedRow[] = [];
      let last = mark;
      // Runs of offered rows are taken from memory; the runs between them (other processes' rows) are read.
      while (rows.length < batchRows) {
        const mine = offered.get(last + 1);
        if (mine) {
          rows.push(toIndexedRow(mine, key));
          last = mine.seq;
          continue;
        }
        const next = nextOffered(last);
        const limit = Math.min(batchRows - rows.length, next === undefined ? Number.POSITIVE_INFINITY : next - last - 1);
        let read = 0;
        for await (const r of store.read({ fromSeq: last + 1, limit })) {
          rows.push(toIndexedRow(r, key));
          last = r.seq;
          read += 1;
        }
        if (next === undefined) break; // read to the head (or to the batch's end)
        if (read === 0) {
          offered.clear(); // rows before an offered one not readable: read everything from here on, as without offers
          break;
        }
      }
      for (const seq of offered.keys()) if (seq <= last) offered.delete(seq);
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

  /** The page from the index's candidates up to `upTo`, then the scan of the tail. */
  async function searchUpTo(query: AuditQuery, page: SearchPageOptions, upTo: number): Promise<SearchPage> {
    const limit = page.limit ?? 100;
    const filter = candidateFilter(query, key);
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

  /** Through the index when it holds this key's terms and was not reset meanwhile; else (a rebuild under way) the scan. */
  async function search(query: AuditQuery, page: SearchPageOptions = {}): Promise<SearchPage> {
    const upTo = await usableUpTo();
    if (upTo !== undefined) {
      const answer = await searchUpTo(query, page, upTo);
      const after = await usableUpTo();
      if (after !== undefined && after >= upTo) return answer;
    }
    return searchTrail(store, query, { ...page, ...(options.maxScan ? { maxScan: options.maxScan } : {}) });
  }

  /** Every intent row naming one of the patient's paths: one search per path, every page, joined in seq order. */
  async function disclosures(patient: string, opts: DisclosureOptions): Promise<DisclosureReport> {
    const resources = disclosureResources(patient, opts);
    const range = { ...(opts.from ? { from: opts.from } : {}), ...(opts.to ? { to: opts.to } : {}) };
    const found = new Map<number, AuditRecord>();
    for (const resource of resources) {
      let afterSeq = 0;
      for (;;) {
        const page = await search({ event: 'intent', resource, ...range }, { afterSeq, limit: 1000 });
        for (const r of page.records) found.set(r.seq, r);
        if (page.next_after_seq === undefined) break;
        afterSeq = page.next_after_seq;
      }
    }
    const rows = [...found.values()].sort((a, b) => a.seq - b.seq);
    return { patient, resources, ...range, disclosures: rows.flatMap((r) => disclosureOf(r, resources) ?? []) };
  }

  return {
    search,
    disclosures,
    catchUp,
    start() {
      if (!timer && !closed) timer = setTimeout(loop, 0);
    },
    offer(record) {
      if (closed) return;
      if (offered.size >= MAX_OFFERED) offered.clear();
      offered.set(record.seq, record);
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
      await backend.close();
    },
  };
}
