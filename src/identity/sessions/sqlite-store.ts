/**
 * The embedded session store: one SQLite file (WAL), read on every check so several processes agree.
 * Its statements run on the main thread, so it never lets SQLite sleep on a lock (`busy_timeout`
 * 0 once the schema is in place): a write that meets another connection's write lock is retried
 * on timers (`retryWhileBusy`) up to `busyTimeoutMs`, and the event loop stays free meanwhile.
 * Plain reads need no retry: in WAL mode they do not wait for a writer.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { retryWhileBusy } from '../../kernel/index.js';
import { revocationListeners } from './revocation-feed.js';
import { IDENTIFYING_TABLES, MCP_SESSION_UPSERT, SCHEMA_SQL, backgroundGrantFromRow, grantFromRow, mcpSessionFromRow, mcpSessionToRow } from './types.js';
import type { Activity, BackgroundGrantSqlRow, EmergencyGrantRow, GrantSqlRow, McpSessionSqlRow, RevocationState, SessionMeta, SessionStore } from './types.js';

export function openSqliteSessionStore(file: string, options: { busyTimeoutMs?: number } = {}): SessionStore & SessionMeta {
  mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  const waitMs = options.busyTimeoutMs ?? 2000;
  db.pragma(`busy_timeout = ${waitMs}`); // at start only: the schema waits as SQLite waits
  for (const sql of SCHEMA_SQL) db.exec(sql);
  db.pragma('busy_timeout = 0');
  /** Runs a write now, or (when another connection holds the lock) again on timers until `waitMs` has passed. */
  const write = <T>(op: () => T): T | Promise<T> => retryWhileBusy(op, waitMs);
  const q = {
    revokeSession: db.prepare('INSERT INTO custos_revoked_sessions (iss, sid, revoked_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
    revokeUser: db.prepare(
      'INSERT INTO custos_revoked_users (iss, sub, revoked_ms) VALUES (?, ?, ?) ON CONFLICT (iss, sub) DO UPDATE SET revoked_ms = MAX(revoked_ms, excluded.revoked_ms)',
    ),
    session: db.prepare('SELECT revoked_ms AS at FROM custos_revoked_sessions WHERE iss = ? AND sid = ?'),
    user: db.prepare('SELECT revoked_ms AS at FROM custos_revoked_users WHERE iss = ? AND sub = ?'),
    readActivity: db.prepare('SELECT last_active_ms AS last, logged_off_ms AS off FROM custos_session_activity WHERE key = ?'),
    writeActivity: db.prepare(
      'INSERT INTO custos_session_activity (key, last_active_ms, logged_off_ms) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET last_active_ms = excluded.last_active_ms, logged_off_ms = excluded.logged_off_ms',
    ),
    purgeJtis: db.prepare('DELETE FROM custos_logout_jtis WHERE until_ms < ?'),
    jti: db.prepare('INSERT INTO custos_logout_jtis (iss, jti, until_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
    forgetJti: db.prepare('DELETE FROM custos_logout_jtis WHERE iss = ? AND jti = ?'),
    putGrant: db.prepare('INSERT INTO custos_emergency_grants (id, iss, sub, sid, opened_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?)'),
    getGrant: db.prepare('SELECT * FROM custos_emergency_grants WHERE id = ?'),
    listGrants: db.prepare('SELECT * FROM custos_emergency_grants ORDER BY opened_ms'),
    liveGrantsOf: db.prepare('SELECT * FROM custos_emergency_grants WHERE iss = ? AND sub = ? AND expires_ms > ? ORDER BY opened_ms'),
    openReviews: db.prepare('SELECT * FROM custos_emergency_grants WHERE closed_by IS NULL ORDER BY opened_ms'),
    closeGrant: db.prepare('UPDATE custos_emergency_grants SET closed_by = ?, closed_ms = ? WHERE id = ? AND closed_by IS NULL'),
    purgeBackground: db.prepare('DELETE FROM custos_background_grants WHERE expires_sec < ?'),
    putBackground: db.prepare('INSERT INTO custos_background_grants (grant_id, iss, sub, client_id, scope, expires_sec, revoked) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    getBackground: db.prepare('SELECT * FROM custos_background_grants WHERE grant_id = ?'),
    purgeMcp: db.prepare('DELETE FROM custos_mcp_sessions WHERE last_seen_ms < ?'),
    putMcp: db.prepare(MCP_SESSION_UPSERT.replace(/\$\d/g, '?')),
    getMcp: db.prepare('SELECT * FROM custos_mcp_sessions WHERE id = ?'),
    removeMcp: db.prepare('DELETE FROM custos_mcp_sessions WHERE id = ?'),
    revokeBackground: db.prepare('UPDATE custos_background_grants SET revoked = 1 WHERE grant_id = ? AND sub = ? AND iss = ?'),
    readMeta: db.prepare('SELECT value FROM custos_session_meta WHERE name = ?'),
    claimMeta: db.prepare('INSERT INTO custos_session_meta (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING'),
    replaceMeta: db.prepare('UPDATE custos_session_meta SET value = ? WHERE name = ?'),
    holdsRows: db.prepare(IDENTIFYING_TABLES.map((t) => `SELECT 1 FROM ${t}`).join(' UNION ALL ') + ' LIMIT 1'),
  };
  const readMeta = (name: string): string | undefined => (q.readMeta.get(name) as { value: string } | undefined)?.value;
  const revoked = revocationListeners();
  const at = (row: unknown): number | undefined => (row === undefined ? undefined : Number((row as { at: number }).at));

  return {
    async revokeSession(iss, sid, atMs) {
      await write(() => q.revokeSession.run(iss, sid, atMs));
      revoked.emit({ iss, sid, atMs });
    },
    async revokeUser(iss, sub, atMs) {
      await write(() => q.revokeUser.run(iss, sub, atMs));
      revoked.emit({ iss, sub, atMs });
    },
    onRevoked: (listener) => revoked.add(listener),
    async revocation(iss, sub, sid): Promise<RevocationState> {
      const sessionRevokedAt = sid === undefined ? undefined : at(q.session.get(iss, sid));
      const userRevokedAt = at(q.user.get(iss, sub));
      return { ...(sessionRevokedAt === undefined ? {} : { sessionRevokedAt }), ...(userRevokedAt === undefined ? {} : { userRevokedAt }) };
    },
    async readActivity(key): Promise<Activity | undefined> {
      const row = q.readActivity.get(key) as { last: number; off: number | null } | undefined;
      if (!row) return undefined;
      return { lastActiveMs: Number(row.last), ...(row.off === null ? {} : { loggedOffMs: Number(row.off) }) };
    },
    async writeActivity(key, a) {
      return write(() => void q.writeActivity.run(key, a.lastActiveMs, a.loggedOffMs ?? null));
    },
    async rememberJti(iss, jti, untilMs) {
      return write(() => {
        q.purgeJtis.run(Date.now());
        return q.jti.run(iss, jti, untilMs).changes === 1;
      });
    },
    async forgetJti(iss, jti) {
      return write(() => void q.forgetJti.run(iss, jti));
    },
    async putGrant(g: EmergencyGrantRow) {
      return write(() => void q.putGrant.run(g.id, g.iss, g.sub, g.sid ?? null, g.openedMs, g.expiresMs));
    },
    async getGrant(id) {
      const row = q.getGrant.get(id) as GrantSqlRow | undefined;
      return row ? grantFromRow(row) : undefined;
    },
    async listGrants() {
      return (q.listGrants.all() as GrantSqlRow[]).map(grantFromRow);
    },
    async liveGrantsOf(iss, sub, nowMs) {
      return (q.liveGrantsOf.all(iss, sub, nowMs) as GrantSqlRow[]).map(grantFromRow);
    },
    async openReviews() {
      return (q.openReviews.all() as GrantSqlRow[]).map(grantFromRow);
    },
    async closeGrant(id, by, atMs) {
      return write(() => q.closeGrant.run(by, atMs, id).changes === 1);
    },
    async putBackgroundGrant(g, purgeBeforeSec) {
      const scope = g.scope === undefined ? null : JSON.stringify(g.scope);
      return write(() => {
        q.purgeBackground.run(purgeBeforeSec);
        q.putBackground.run(g.grantId, g.iss, g.sub, g.clientId, scope, g.expiresAt, g.revoked ? 1 : 0);
      });
    },
    async getBackgroundGrant(grantId) {
      const row = q.getBackground.get(grantId) as BackgroundGrantSqlRow | undefined;
      return row ? backgroundGrantFromRow(row) : undefined;
    },
    async revokeBackgroundGrant(grantId, owner) {
      return write(() => q.revokeBackground.run(grantId, owner.sub, owner.iss).changes === 1);
    },
    async readMeta(name) {
      return readMeta(name);
    },
    async claimMeta(name, value) {
      return write(() => {
        q.claimMeta.run(name, value);
        return readMeta(name)!;
      });
    },
    async replaceMeta(name, value) {
      return write(() => void q.replaceMeta.run(value, name));
    },
    async holdsRows() {
      return q.holdsRows.get() !== undefined;
    },
    async putMcpSession(record, purgeBeforeMs) {
      const r = mcpSessionToRow(record);
      return write(() => {
        q.purgeMcp.run(purgeBeforeMs);
        q.putMcp.run(r.id, r.iss, r.sub, r.opened_ms, r.last_seen_ms, r.state);
      });
    },
    async getMcpSession(id) {
      const row = q.getMcp.get(id) as McpSessionSqlRow | undefined;
      return row ? mcpSessionFromRow(row) : undefined;
    },
    async removeMcpSession(id) {
      return write(() => void q.removeMcp.run(id));
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
