/**
 * The monitor's start-up snapshot: the fold (trail-state.ts) and the rules' windows and
 * first-seen sets (rules.ts) as they stood after one trail row, with that row's seq and hash.
 * At start the snapshot is taken only when the trail's row at that seq still has that hash
 * (and the snapshot parses, is this version and was made under the same rule windows);
 * otherwise the monitor folds the whole trail, as without one. Then only the rows after it are
 * read. The snapshot is derived data: deleting it costs one full read.
 *
 * Where it is kept: `snapshot-store.ts` (a file beside an SQLite trail, a table beside a
 * PostgreSQL one: migration 6).
 */
import { createHash } from 'node:crypto';
import { isRecord } from '../kernel/index.js';
import type { AuditRecord, AuditStore } from '../kernel/index.js';
import type { AlertRules, RulesState } from './rules.js';
import type { AgentSeen, ServerSeen, TrailState } from './trail-state.js';
import type { AlertView, KillSwitch, ToolDefinitionView } from './types.js';

export const MONITOR_SNAPSHOT_SCHEMA = 'custos.monitor-snapshot/v1';

/** Where the snapshot is kept: one snapshot, the latest. */
export interface MonitorSnapshotStore {
  /** The stored snapshot's text, or undefined when there is none. */
  load(): Promise<string | undefined>;
  /** Replaces the stored snapshot unless the stored one covers a later seq (another replica's). */
  save(seq: number, text: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Signs and checks snapshots (the checkpoint signing key, when one is configured): a start then
 * takes only a snapshot this deployment's key signed, so write access to the store is not enough
 * to forge the monitor's state.
 */
export interface SnapshotSeal {
  readonly keyId: string;
  sign(data: Buffer): Buffer;
  verify(data: Buffer, signature: Buffer): boolean;
}

type Entries<V> = Array<[string, V]>;

interface SnapshotHeader {
  readonly schema: typeof MONITOR_SNAPSHOT_SCHEMA;
  /** The seq and hash of the last trail row folded into it. */
  readonly seq: number;
  readonly hash: string;
  /** The rule settings it was counted under (`rulesKey`): other windows, other counts. */
  readonly rules_key: string;
  /** SHA-256 of the body's text. */
  readonly sha256: string;
  /** With a `SnapshotSeal`: its key id, and its signature over the fields above and the key id (base64). */
  readonly key_id?: string;
  readonly signature?: string;
}

interface SnapshotBody {
  readonly kills: Entries<KillSwitch>;
  readonly approved: Entries<ToolDefinitionView>;
  readonly alerts: AlertView[];
  readonly servers: Array<Omit<ServerSeen, 'toolCalls'> & { toolCalls: Entries<number> }>;
  readonly agents: Entries<Omit<AgentSeen, 'tiers' | 'users'> & { tiers: string[]; users: string[] }>;
  readonly rules: RulesState;
}

/** What a snapshot restores, once checked against the trail. */
export interface DecodedSnapshot {
  readonly seq: number;
  readonly hash: string;
  apply(state: TrailState): void;
  readonly rules: RulesState;
}

/**
 * The snapshot's text: a header line (schema, the row it covers, the rule windows, the SHA-256
 * of the body) and the body (the state as JSON), so a damaged body is recognised.
 */
export function encodeSnapshot(state: TrailState, rules: RulesState, hash: string, rulesKey: string, seal?: SnapshotSeal): string {
  const body: SnapshotBody = {
    kills: [...state.kills],
    approved: [...state.approved],
    alerts: state.alerts,
    servers: [...state.servers.values()].map((s) => ({ ...s, toolCalls: [...s.toolCalls] })),
    agents: [...state.agents].map(([k, a]) => [k, { ...a, tiers: [...a.tiers], users: [...a.users] }]),
    rules,
  };
  const text = JSON.stringify(body);
  const header: SnapshotHeader = { schema: MONITOR_SNAPSHOT_SCHEMA, seq: state.lastSeq, hash, rules_key: rulesKey, sha256: sha256(text) };
  const signed = seal ? { key_id: seal.keyId, signature: seal.sign(signedBytes({ ...header, key_id: seal.keyId })).toString('base64') } : {};
  return `${JSON.stringify({ ...header, ...signed })}\n${text}`;
}

/** What a snapshot's signature covers: every header field but the signature (the body through its SHA-256). */
function signedBytes(h: Record<string, unknown>): Buffer {
  return Buffer.from(JSON.stringify([h.schema, h.seq, h.hash, h.rules_key, h.sha256, h.key_id]), 'utf8');
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

const isEntries = (v: unknown): v is Entries<unknown> => Array.isArray(v) && v.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string');

/** The snapshot in `text`, or the reason it cannot be used (it never throws). With `seal`, only a snapshot it signed. */
export function decodeSnapshot(text: string, rulesKey: string, seal?: SnapshotSeal): DecodedSnapshot | string {
  const newline = text.indexOf('\n');
  let header: unknown;
  let body: unknown;
  try {
    header = JSON.parse(text.slice(0, newline));
    if (!isRecord(header) || header.schema !== MONITOR_SNAPSHOT_SCHEMA) return `the snapshot is not ${MONITOR_SNAPSHOT_SCHEMA}`;
    if (header.sha256 !== sha256(text.slice(newline + 1))) return "the snapshot's body does not match its digest";
    body = JSON.parse(text.slice(newline + 1));
  } catch {
    return 'the snapshot is not JSON';
  }
  const { seq, hash } = header;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1 || typeof hash !== 'string') return 'the snapshot names no trail row';
  if (header.rules_key !== rulesKey) return 'the snapshot was counted under other rule settings';
  if (seal) {
    if (header.key_id !== seal.keyId || typeof header.signature !== 'string') return "the snapshot is not signed by this deployment's checkpoint key";
    if (!seal.verify(signedBytes(header), Buffer.from(header.signature, 'base64'))) return "the snapshot's signature does not verify";
  }
  if (!isWellFormed(body)) return 'the snapshot is malformed';
  const b = body;
  return {
    seq,
    hash,
    rules: b.rules,
    apply(into) {
      for (const [k, v] of b.kills) into.kills.set(k, v);
      for (const [k, v] of b.approved) into.approved.set(k, v);
      into.alerts.push(...b.alerts);
      for (const v of b.servers) into.servers.set(v.name, { ...v, toolCalls: new Map(v.toolCalls) });
      for (const [k, a] of b.agents) into.agents.set(k, { ...a, tiers: new Set(a.tiers), users: new Set(a.users) });
      into.lastSeq = seq;
    },
  };
}

/** The shapes `apply` and the rules' `restore` iterate (so neither throws half-way). */
function isWellFormed(b: unknown): b is SnapshotBody {
  if (!isRecord(b) || !isRecord(b.rules)) return false;
  const { kills, approved, alerts, servers, agents, rules } = b;
  const { series, lastRaised, usedTools, usedByUser } = rules;
  if (![alerts, servers, usedTools, usedByUser].every(Array.isArray) || ![kills, approved, agents, series, lastRaised].every(isEntries)) return false;
  const list = (v: unknown): boolean => Array.isArray(v);
  return (
    (servers as unknown[]).every((s) => isRecord(s) && typeof s.name === 'string' && isEntries(s.toolCalls)) &&
    (agents as Entries<unknown>).every(([, a]) => isRecord(a) && list(a.tiers) && list(a.users)) &&
    (series as Entries<unknown>).every(([, s]) => isRecord(s) && list(s.history))
  );
}

/** How the monitor started: from which snapshot (if any), and why not when not. */
export interface MonitorStartReport {
  readonly snapshot: 'used' | 'none' | 'off' | 'unreadable' | 'invalid' | 'mismatch';
  /** Why a snapshot was not used (a bad or mismatching one). */
  readonly reason?: string;
  /** The seq the snapshot covered (the read started after it). */
  readonly fromSeq: number;
  /** Trail rows read by the start's fold. */
  rowsRead: number;
}

/**
 * Restores the stored snapshot into `state` and `rules` when it checks out against the trail's
 * row at its seq; otherwise leaves both empty (a full read follows) and says why.
 */
export async function restoreSnapshot(parts: {
  readonly snapshots: MonitorSnapshotStore | undefined;
  readonly store: Pick<AuditStore, 'read'>;
  readonly state: TrailState;
  readonly rules: Pick<AlertRules, 'restore'>;
  readonly rulesKey: string;
  readonly seal?: SnapshotSeal;
}): Promise<MonitorStartReport> {
  const { snapshots, store } = parts;
  if (!snapshots) return { snapshot: 'off', fromSeq: 0, rowsRead: 0 };
  let text: string | undefined;
  try {
    text = await snapshots.load();
  } catch (err) {
    return { snapshot: 'unreadable', reason: (err as { code?: string }).code ?? 'the snapshot could not be read', fromSeq: 0, rowsRead: 0 };
  }
  if (text === undefined) return { snapshot: 'none', fromSeq: 0, rowsRead: 0 };
  const decoded = decodeSnapshot(text, parts.rulesKey, parts.seal);
  if (typeof decoded === 'string') return { snapshot: 'invalid', reason: decoded, fromSeq: 0, rowsRead: 0 };
  let row: AuditRecord | undefined;
  for await (const r of store.read({ fromSeq: decoded.seq, limit: 1 })) {
    row = r;
    break;
  }
  if (row?.seq !== decoded.seq) return { snapshot: 'mismatch', reason: `the trail has no row ${decoded.seq}`, fromSeq: 0, rowsRead: 0 };
  if (row.hash !== decoded.hash) return { snapshot: 'mismatch', reason: `the trail's row ${decoded.seq} has another hash`, fromSeq: 0, rowsRead: 0 };
  decoded.apply(parts.state);
  parts.rules.restore(decoded.rules);
  return { snapshot: 'used', fromSeq: decoded.seq, rowsRead: 0 };
}
