/**
 * Search over the trail (`GET /v1/audit`, `custos audit search`) and the HIPAA accounting of
 * disclosures for one patient (164.528). Both read the store in seq order through the
 * store port, so they work the same on SQLite and PostgreSQL; a page ends after `limit`
 * matches or `maxScan` rows read, and names the seq to continue after.
 */
import type { AuditRecord, AuditStore } from '../kernel/index.js';

export interface AuditQuery {
  /** `user.sub` or `user.email`. */
  readonly user?: string;
  /** `agent.name`. */
  readonly agent?: string;
  /** `agent.tier`. */
  readonly tier?: string;
  /** `tool.name`, or `server/name`. */
  readonly tool?: string;
  /** `policy.decision`: allow, deny, confirm. */
  readonly decision?: string;
  /** One of `data_classes`. */
  readonly dataClass?: string;
  /** A path or URI the call named: a string of `input.redacted` (or a resource's `tool.name`) equal to it or ending in `/` + it. */
  readonly resource?: string;
  readonly event?: string;
  /** RFC 3339; rows with `time` ≥ from and < to. */
  readonly from?: string;
  readonly to?: string;
  readonly requestId?: string;
}

export interface SearchPageOptions {
  /** Rows after this seq (default 0: from the start). */
  readonly afterSeq?: number;
  /** Most matches returned (default 100). */
  readonly limit?: number;
  /** Most rows read for one page (default 100 000): a page may come back short, with `next_after_seq`. */
  readonly maxScan?: number;
}

export interface SearchPage {
  readonly records: readonly AuditRecord[];
  /** Pass as `afterSeq` for the next page; absent when the trail was read to its end. */
  readonly next_after_seq?: number;
}

/** Every string inside a JSON value (iterative: rows nest up to 256 deep). */
export function strings(value: unknown): string[] {
  const out: string[] = [];
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node === 'string') out.push(node);
    else if (Array.isArray(node)) stack.push(...node);
    else if (typeof node === 'object' && node !== null) stack.push(...Object.values(node));
  }
  return out;
}

const namesResource = (value: string, resource: string): boolean => value === resource || value.endsWith(`/${resource}`);

export function matchesResource(record: AuditRecord, resource: string): boolean {
  if (record.kind === 'resource' && record.tool && namesResource(record.tool.name, resource)) return true;
  return strings(record.input?.redacted).some((s) => namesResource(s, resource));
}

export function matchesQuery(record: AuditRecord, q: AuditQuery): boolean {
  if (q.event !== undefined && record.event !== q.event) return false;
  if (q.requestId !== undefined && record.request_id !== q.requestId) return false;
  if (q.user !== undefined && record.user?.sub !== q.user && record.user?.email !== q.user) return false;
  if (q.agent !== undefined && record.agent?.name !== q.agent) return false;
  if (q.tier !== undefined && record.agent?.tier !== q.tier) return false;
  if (q.tool !== undefined && record.tool?.name !== q.tool && `${record.tool?.server}/${record.tool?.name}` !== q.tool) return false;
  if (q.decision !== undefined && record.policy?.decision !== q.decision) return false;
  if (q.dataClass !== undefined && !(record.data_classes ?? []).includes(q.dataClass)) return false;
  if (q.from !== undefined && Date.parse(record.time) < Date.parse(q.from)) return false;
  if (q.to !== undefined && Date.parse(record.time) >= Date.parse(q.to)) return false;
  if (q.resource !== undefined && !matchesResource(record, q.resource)) return false;
  return true;
}

export async function searchTrail(store: AuditStore, query: AuditQuery, options: SearchPageOptions = {}): Promise<SearchPage> {
  const limit = options.limit ?? 100;
  const maxScan = options.maxScan ?? 100_000;
  const records: AuditRecord[] = [];
  let scanned = 0;
  let last = options.afterSeq ?? 0;
  for await (const record of store.read({ fromSeq: last + 1 })) {
    last = record.seq;
    scanned += 1;
    if (matchesQuery(record, query)) records.push(record);
    if (records.length >= limit || scanned >= maxScan) return { records, next_after_seq: last };
  }
  return { records };
}

/** One access to a patient's records, as the accounting of disclosures lists it. */
export interface Disclosure {
  readonly seq: number;
  readonly time: string;
  readonly request_id: string;
  /** Who: the person the call was made for. */
  readonly user: { readonly sub: string | null; readonly email?: string; readonly tenant?: string };
  /** Through which agent (its tier and delegation chain). */
  readonly agent?: { readonly name: string; readonly tier?: string; readonly delegation_chain?: readonly string[] };
  readonly tool: string;
  /** What was accessed: the path or URI that matched. */
  readonly resource: string;
  readonly data_classes: readonly string[];
  /** Break-glass access. */
  readonly emergency: boolean;
}

export interface DisclosureReport {
  readonly patient: string;
  /** The paths the patient's records live at (the configured templates, filled in). */
  readonly resources: readonly string[];
  readonly from?: string;
  readonly to?: string;
  readonly disclosures: readonly Disclosure[];
}

export interface DisclosureOptions {
  /** Where one patient's records live, `{patient}` standing for the identifier (`audit.search.patientPaths`). */
  readonly pathTemplates: readonly string[];
  readonly from?: string;
  readonly to?: string;
}

/** The patient's paths: the templates filled in. */
export const disclosureResources = (patient: string, options: DisclosureOptions): string[] =>
  options.pathTemplates.map((t) => t.replaceAll('{patient}', patient));

/**
 * The disclosure a row records, or undefined: an `intent` row (a call that was allowed and
 * forwarded) naming one of the patient's paths. Denied attempts are not disclosures (search
 * `decision=deny` for them), nor is a control test's planted record. Times are not checked here.
 */
export function disclosureOf(record: AuditRecord, resources: readonly string[]): Disclosure | undefined {
  if (record.event !== 'intent' || record.control_test) return undefined;
  const resource = resources.find((r) => matchesResource(record, r));
  if (resource === undefined) return undefined;
  const { sub, email, tenant } = record.user ?? { sub: null };
  return {
    seq: record.seq,
    time: record.time,
    request_id: record.request_id,
    user: { sub, ...(email ? { email } : {}), ...(tenant ? { tenant } : {}) },
    ...(record.agent
      ? {
          agent: {
            name: record.agent.name,
            ...(record.agent.tier ? { tier: record.agent.tier } : {}),
            delegation_chain: record.agent.delegation_chain ?? [],
          },
        }
      : {}),
    tool: record.tool ? `${record.tool.server}/${record.tool.name}` : 'unknown',
    resource,
    data_classes: record.data_classes ?? [],
    emergency: record.access?.emergency === true,
  };
}

/**
 * Every access made to one patient's records (`disclosureOf`), by a scan of the whole trail.
 * The app asks the search index instead (`SearchIndex.disclosures`, the same answer).
 */
export async function accountDisclosures(store: AuditStore, patient: string, options: DisclosureOptions): Promise<DisclosureReport> {
  const resources = disclosureResources(patient, options);
  const range = { ...(options.from ? { from: options.from } : {}), ...(options.to ? { to: options.to } : {}) };
  const disclosures: Disclosure[] = [];
  for await (const record of store.read()) {
    const found = matchesQuery(record, range) ? disclosureOf(record, resources) : undefined;
    if (found) disclosures.push(found);
  }
  return { patient, resources, ...range, disclosures };
}
