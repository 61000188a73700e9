/** The session store: revocations, activity (automatic logoff), logout-token replay, break-glass and background grants. */
import type { McpSessionRecord, Revocation } from '../../kernel/index.js';

export interface RevocationState {
  /** When the IdP session (`sid`) was revoked, ms since epoch. */
  readonly sessionRevokedAt?: number;
  /** When every session of the user was revoked: tokens issued (iat) at or before it are refused. */
  readonly userRevokedAt?: number;
}

export interface Activity {
  readonly lastActiveMs: number;
  /** Set when the session was logged off for idleness; only a token issued after it starts a new window. */
  readonly loggedOffMs?: number;
}

export interface EmergencyGrantRow {
  readonly id: string;
  readonly iss: string;
  readonly sub: string;
  readonly sid?: string;
  readonly openedMs: number;
  readonly expiresMs: number;
  readonly closedBy?: string;
  readonly closedMs?: number;
}

/** A standing background grant (see background-grants.ts); `revoked` once its user revoked it. */
export interface BackgroundGrantRow {
  readonly grantId: string;
  readonly sub: string;
  readonly iss: string;
  readonly clientId: string;
  readonly scope?: readonly string[];
  /** Seconds since epoch. */
  readonly expiresAt: number;
  readonly revoked: boolean;
}

export interface SessionStore {
  revokeSession(iss: string, sid: string, atMs: number): Promise<void>;
  revokeUser(iss: string, sub: string, atMs: number): Promise<void>;
  /** Calls `listener` once a revocation is stored here, or (PostgreSQL) announced by another replica; returns the unsubscribe function. */
  onRevoked(listener: (revocation: Revocation) => void): () => void;
  revocation(iss: string, sub: string, sid: string | undefined): Promise<RevocationState>;
  readActivity(key: string): Promise<Activity | undefined>;
  writeActivity(key: string, activity: Activity): Promise<void>;
  /** Remembers a logout token's jti; false when it was seen before (a replay). */
  rememberJti(iss: string, jti: string, untilMs: number): Promise<boolean>;
  /** Forgets a remembered jti whose logout could not be completed (a store down), so the IdP's next delivery of the token is taken. */
  forgetJti(iss: string, jti: string): Promise<void>;
  putGrant(grant: EmergencyGrantRow): Promise<void>;
  getGrant(id: string): Promise<EmergencyGrantRow | undefined>;
  listGrants(): Promise<EmergencyGrantRow[]>;
  /** The holder's grants not expired at `nowMs` (indexed: this runs on every call). */
  liveGrantsOf(iss: string, sub: string, nowMs: number): Promise<EmergencyGrantRow[]>;
  /** Grants whose review is still open. */
  openReviews(): Promise<EmergencyGrantRow[]>;
  /** Closes the review of a grant; false when it was already closed or does not exist. */
  closeGrant(id: string, by: string, atMs: number): Promise<boolean>;
  /** Stores a background grant (and drops grants expired before `purgeBeforeSec`). */
  putBackgroundGrant(grant: BackgroundGrantRow, purgeBeforeSec: number): Promise<void>;
  getBackgroundGrant(grantId: string): Promise<BackgroundGrantRow | undefined>;
  /** Marks a grant of this user revoked; false when there is none. */
  revokeBackgroundGrant(grantId: string, owner: { readonly sub: string; readonly iss: string }): Promise<boolean>;
  /** MCP session state, shared so that any replica continues any session (the kernel's McpSessionStore). */
  putMcpSession(record: McpSessionRecord, purgeBeforeMs: number): Promise<void>;
  getMcpSession(id: string): Promise<McpSessionRecord | undefined>;
  removeMcpSession(id: string): Promise<void>;
  close(): Promise<void>;
}

/** A store's own settings (the sealing envelope: sealed-store.ts), beside its rows. */
export interface SessionMeta {
  readMeta(name: string): Promise<string | undefined>;
  /** Stores `value` unless the name is set already (another replica won); returns what is stored. */
  claimMeta(name: string, value: string): Promise<string>;
  replaceMeta(name: string, value: string): Promise<void>;
  /** True when any table holds a row (a store written before sealing was turned on). */
  holdsRows(): Promise<boolean>;
}

/** The tables `holdsRows` looks at: every one that holds an identifier. */
export const IDENTIFYING_TABLES = [
  'custos_revoked_sessions',
  'custos_revoked_users',
  'custos_session_activity',
  'custos_emergency_grants',
  'custos_background_grants',
  'custos_mcp_sessions',
] as const;

/** Row ↔ object helpers shared by the SQL stores. */
export interface GrantSqlRow {
  id: string;
  iss: string;
  sub: string;
  sid: string | null;
  opened_ms: number | string;
  expires_ms: number | string;
  closed_by: string | null;
  closed_ms: number | string | null;
}

export function grantFromRow(r: GrantSqlRow): EmergencyGrantRow {
  return {
    id: r.id,
    iss: r.iss,
    sub: r.sub,
    ...(r.sid === null ? {} : { sid: r.sid }),
    openedMs: Number(r.opened_ms),
    expiresMs: Number(r.expires_ms),
    ...(r.closed_by === null ? {} : { closedBy: r.closed_by, closedMs: Number(r.closed_ms) }),
  };
}

export interface BackgroundGrantSqlRow {
  grant_id: string;
  iss: string;
  sub: string;
  client_id: string;
  scope: string | null;
  expires_sec: number | string;
  revoked: number | string;
}

export function backgroundGrantFromRow(r: BackgroundGrantSqlRow): BackgroundGrantRow {
  return {
    grantId: r.grant_id,
    iss: r.iss,
    sub: r.sub,
    clientId: r.client_id,
    ...(r.scope === null ? {} : { scope: JSON.parse(r.scope) as string[] }),
    expiresAt: Number(r.expires_sec),
    revoked: Number(r.revoked) !== 0,
  };
}

export interface McpSessionSqlRow {
  id: string;
  iss: string;
  sub: string;
  opened_ms: number | string;
  last_seen_ms: number | string;
  state: string;
}

/** The columns of a record (the parts a query selects by, then the rest as one JSON document: additive by design). */
export function mcpSessionToRow(r: McpSessionRecord): McpSessionSqlRow {
  const { id, owner, openedMs, lastSeenMs, ...rest } = r;
  return { id, iss: owner.iss, sub: owner.sub, opened_ms: openedMs, last_seen_ms: lastSeenMs, state: JSON.stringify(rest) };
}

export function mcpSessionFromRow(r: McpSessionSqlRow): McpSessionRecord {
  const state = JSON.parse(r.state) as Omit<McpSessionRecord, 'id' | 'owner' | 'openedMs' | 'lastSeenMs'>;
  return { ...state, id: r.id, owner: { iss: r.iss, sub: r.sub }, openedMs: Number(r.opened_ms), lastSeenMs: Number(r.last_seen_ms) };
}

export const MCP_SESSION_UPSERT =
  'INSERT INTO custos_mcp_sessions (id, iss, sub, opened_ms, last_seen_ms, state) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET last_seen_ms = excluded.last_seen_ms, state = excluded.state';

/** The session store's tables before versioned migrations (migration 1 of src/app/migrations.ts). */
export const SESSION_STORE_BASE_SCHEMA = [
  'CREATE TABLE IF NOT EXISTS custos_revoked_sessions (iss TEXT NOT NULL, sid TEXT NOT NULL, revoked_ms BIGINT NOT NULL, PRIMARY KEY (iss, sid))',
  'CREATE TABLE IF NOT EXISTS custos_revoked_users (iss TEXT NOT NULL, sub TEXT NOT NULL, revoked_ms BIGINT NOT NULL, PRIMARY KEY (iss, sub))',
  'CREATE TABLE IF NOT EXISTS custos_session_activity (key TEXT PRIMARY KEY, last_active_ms BIGINT NOT NULL, logged_off_ms BIGINT)',
  'CREATE TABLE IF NOT EXISTS custos_logout_jtis (iss TEXT NOT NULL, jti TEXT NOT NULL, until_ms BIGINT NOT NULL, PRIMARY KEY (iss, jti))',
  'CREATE TABLE IF NOT EXISTS custos_emergency_grants (id TEXT PRIMARY KEY, iss TEXT NOT NULL, sub TEXT NOT NULL, sid TEXT, opened_ms BIGINT NOT NULL, expires_ms BIGINT NOT NULL, closed_by TEXT, closed_ms BIGINT)',
  'CREATE INDEX IF NOT EXISTS custos_emergency_grants_holder ON custos_emergency_grants (iss, sub, expires_ms)',
  'CREATE TABLE IF NOT EXISTS custos_background_grants (grant_id TEXT PRIMARY KEY, iss TEXT NOT NULL, sub TEXT NOT NULL, client_id TEXT NOT NULL, scope TEXT, expires_sec BIGINT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0)',
];

/** MCP session state shared by the replicas (migration 2 of src/app/migrations.ts). */
export const MCP_SESSION_SCHEMA = [
  'CREATE TABLE IF NOT EXISTS custos_mcp_sessions (id TEXT PRIMARY KEY, iss TEXT NOT NULL, sub TEXT NOT NULL, opened_ms BIGINT NOT NULL, last_seen_ms BIGINT NOT NULL, state TEXT NOT NULL)',
  'CREATE INDEX IF NOT EXISTS custos_mcp_sessions_seen ON custos_mcp_sessions (last_seen_ms)',
];

/** The session store's own settings, such as the sealing envelope (migration 3 of src/app/migrations.ts). */
export const SESSION_META_SCHEMA = ['CREATE TABLE IF NOT EXISTS custos_session_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)'];

export const SCHEMA_SQL = [...SESSION_STORE_BASE_SCHEMA, ...MCP_SESSION_SCHEMA, ...SESSION_META_SCHEMA];
