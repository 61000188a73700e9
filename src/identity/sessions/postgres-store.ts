/**
 * The shared session store on PostgreSQL. Revocations are cached in memory and pushed to
 * every replica with LISTEN/NOTIFY; while the listener is down, every check reads the
 * table instead (fail closed: a revocation is never missed, only slower to read). A
 * revocation new to this replica (its own, another's NOTIFY, or one found when the listener
 * reconnects and reloads) is announced to `onRevoked` listeners.
 */
import pg from 'pg';
import { revocationListeners } from './revocation-feed.js';
import { IDENTIFYING_TABLES, MCP_SESSION_UPSERT, SCHEMA_SQL, backgroundGrantFromRow, grantFromRow, mcpSessionFromRow, mcpSessionToRow } from './types.js';
import type { Activity, BackgroundGrantSqlRow, GrantSqlRow, McpSessionSqlRow, RevocationState, SessionMeta, SessionStore } from './types.js';

export const REVOCATION_CHANNEL = 'custos_revocations';

interface Notice {
  readonly kind: 'session' | 'user';
  readonly iss: string;
  readonly id: string;
  readonly at: number;
}

const keyOf = (iss: string, id: string): string => `${iss}\n${id}`;

export async function openPostgresSessionStore(url: string, options: { busyTimeoutMs?: number } = {}): Promise<SessionStore & SessionMeta> {
  // A stalled server (not a refused connection: the process stopped, a network partition) costs a
  // bounded wait, then the request is denied (ERR_IDENTITY_SESSION_STORE_UNAVAILABLE), never a hang.
  const waitMs = Math.max(options.busyTimeoutMs ?? 2000, 1000);
  const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: waitMs, query_timeout: waitMs });
  // An idle client's error (a server restart, a dropped connection, a shutdown while closing)
  // surfaces on the next query; unhandled here it would end the process.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined)); // a checked-out client's too (see src/audit/postgres-store.ts)
  for (const sql of SCHEMA_SQL) await pool.query(sql);
  const sessions = new Map<string, number>();
  const users = new Map<string, number>();
  let listener: pg.Client | undefined;
  let listening = false;
  let closed = false;
  const revoked = revocationListeners();

  /** Caches a revocation; announces it when it is news here (ours echoed back by NOTIFY is not). */
  function apply(n: Notice): void {
    const map = n.kind === 'session' ? sessions : users;
    const key = keyOf(n.iss, n.id);
    const before = map.get(key);
    if (before !== undefined && before >= n.at) return;
    map.set(key, n.at);
    revoked.emit(n.kind === 'session' ? { iss: n.iss, sid: n.id, atMs: n.at } : { iss: n.iss, sub: n.id, atMs: n.at });
  }

  async function loadAll(): Promise<void> {
    const s = await pool.query<{ iss: string; sid: string; revoked_ms: string }>('SELECT iss, sid, revoked_ms FROM custos_revoked_sessions');
    for (const r of s.rows) apply({ kind: 'session', iss: r.iss, id: r.sid, at: Number(r.revoked_ms) });
    const u = await pool.query<{ iss: string; sub: string; revoked_ms: string }>('SELECT iss, sub, revoked_ms FROM custos_revoked_users');
    for (const r of u.rows) apply({ kind: 'user', iss: r.iss, id: r.sub, at: Number(r.revoked_ms) });
  }

  async function listen(): Promise<void> {
    if (closed) return;
    const client = new pg.Client({ connectionString: url });
    let dropped = false;
    // Once per client: a lost connection, or a failed (re)connect while the server is still away,
    // tries again a second later, for as long as the store is open.
    const drop = (): void => {
      if (dropped) return;
      dropped = true;
      listening = false;
      if (listener === client) listener = undefined;
      client.end().catch(() => undefined);
      if (!closed) setTimeout(() => void listen().catch(() => undefined), 1000).unref();
    };
    client.on('error', drop);
    client.on('notification', (msg) => {
      try {
        apply(JSON.parse(msg.payload ?? '') as Notice);
      } catch {
        listening = false; // an unreadable notice: read the tables until the next reload
      }
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${REVOCATION_CHANNEL}`);
      listener = client;
      await loadAll(); // after LISTEN, so nothing falls between the load and the first notice
      listening = true;
    } catch (err) {
      drop();
      throw err;
    }
  }

  async function readRevocation(iss: string, sub: string, sid: string | undefined): Promise<RevocationState> {
    const s =
      sid === undefined
        ? undefined
        : await pool.query<{ at: string }>('SELECT revoked_ms AS at FROM custos_revoked_sessions WHERE iss = $1 AND sid = $2', [iss, sid]);
    const u = await pool.query<{ at: string }>('SELECT revoked_ms AS at FROM custos_revoked_users WHERE iss = $1 AND sub = $2', [iss, sub]);
    const sessionRevokedAt = s?.rows[0] ? Number(s.rows[0].at) : undefined;
    const userRevokedAt = u.rows[0] ? Number(u.rows[0].at) : undefined;
    return { ...(sessionRevokedAt === undefined ? {} : { sessionRevokedAt }), ...(userRevokedAt === undefined ? {} : { userRevokedAt }) };
  }

  async function notify(n: Notice): Promise<void> {
    apply(n);
    await pool.query('SELECT pg_notify($1, $2)', [REVOCATION_CHANNEL, JSON.stringify(n)]);
  }

  try {
    await listen();
  } catch (err) {
    closed = true; // no retry for a store that did not open
    await pool.end().catch(() => undefined);
    throw err;
  }

  return {
    async revokeSession(iss, sid, atMs) {
      await pool.query('INSERT INTO custos_revoked_sessions (iss, sid, revoked_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [iss, sid, atMs]);
      await notify({ kind: 'session', iss, id: sid, at: atMs });
    },
    async revokeUser(iss, sub, atMs) {
      await pool.query(
        'INSERT INTO custos_revoked_users (iss, sub, revoked_ms) VALUES ($1, $2, $3) ON CONFLICT (iss, sub) DO UPDATE SET revoked_ms = GREATEST(custos_revoked_users.revoked_ms, excluded.revoked_ms)',
        [iss, sub, atMs],
      );
      await notify({ kind: 'user', iss, id: sub, at: atMs });
    },
    onRevoked: (listener) => revoked.add(listener),
    async revocation(iss, sub, sid) {
      if (!listening) return readRevocation(iss, sub, sid);
      const sessionRevokedAt = sid === undefined ? undefined : sessions.get(keyOf(iss, sid));
      const userRevokedAt = users.get(keyOf(iss, sub));
      return { ...(sessionRevokedAt === undefined ? {} : { sessionRevokedAt }), ...(userRevokedAt === undefined ? {} : { userRevokedAt }) };
    },
    async readActivity(key): Promise<Activity | undefined> {
      const r = await pool.query<{ last: string; off: string | null }>(
        'SELECT last_active_ms AS last, logged_off_ms AS off FROM custos_session_activity WHERE key = $1',
        [key],
      );
      const row = r.rows[0];
      return row ? { lastActiveMs: Number(row.last), ...(row.off === null ? {} : { loggedOffMs: Number(row.off) }) } : undefined;
    },
    async writeActivity(key, a) {
      await pool.query(
        'INSERT INTO custos_session_activity (key, last_active_ms, logged_off_ms) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET last_active_ms = excluded.last_active_ms, logged_off_ms = excluded.logged_off_ms',
        [key, a.lastActiveMs, a.loggedOffMs ?? null],
      );
    },
    async rememberJti(iss, jti, untilMs) {
      await pool.query('DELETE FROM custos_logout_jtis WHERE until_ms < $1', [Date.now()]);
      const r = await pool.query('INSERT INTO custos_logout_jtis (iss, jti, until_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [iss, jti, untilMs]);
      return r.rowCount === 1;
    },
    async forgetJti(iss, jti) {
      await pool.query('DELETE FROM custos_logout_jtis WHERE iss = $1 AND jti = $2', [iss, jti]);
    },
    async putGrant(g) {
      await pool.query('INSERT INTO custos_emergency_grants (id, iss, sub, sid, opened_ms, expires_ms) VALUES ($1, $2, $3, $4, $5, $6)', [
        g.id,
        g.iss,
        g.sub,
        g.sid ?? null,
        g.openedMs,
        g.expiresMs,
      ]);
    },
    async getGrant(id) {
      const r = await pool.query<GrantSqlRow>('SELECT * FROM custos_emergency_grants WHERE id = $1', [id]);
      return r.rows[0] ? grantFromRow(r.rows[0]) : undefined;
    },
    async listGrants() {
      return (await pool.query<GrantSqlRow>('SELECT * FROM custos_emergency_grants ORDER BY opened_ms')).rows.map(grantFromRow);
    },
    async liveGrantsOf(iss, sub, nowMs) {
      const sql = 'SELECT * FROM custos_emergency_grants WHERE iss = $1 AND sub = $2 AND expires_ms > $3 ORDER BY opened_ms';
      return (await pool.query<GrantSqlRow>(sql, [iss, sub, nowMs])).rows.map(grantFromRow);
    },
    async openReviews() {
      return (await pool.query<GrantSqlRow>('SELECT * FROM custos_emergency_grants WHERE closed_by IS NULL ORDER BY opened_ms')).rows.map(grantFromRow);
    },
    async closeGrant(id, by, atMs) {
      const r = await pool.query('UPDATE custos_emergency_grants SET closed_by = $1, closed_ms = $2 WHERE id = $3 AND closed_by IS NULL', [by, atMs, id]);
      return r.rowCount === 1;
    },
    async putBackgroundGrant(g, purgeBeforeSec) {
      await pool.query('DELETE FROM custos_background_grants WHERE expires_sec < $1', [purgeBeforeSec]);
      await pool.query(
        'INSERT INTO custos_background_grants (grant_id, iss, sub, client_id, scope, expires_sec, revoked) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [g.grantId, g.iss, g.sub, g.clientId, g.scope === undefined ? null : JSON.stringify(g.scope), g.expiresAt, g.revoked ? 1 : 0],
      );
    },
    async getBackgroundGrant(grantId) {
      const r = await pool.query<BackgroundGrantSqlRow>('SELECT * FROM custos_background_grants WHERE grant_id = $1', [grantId]);
      return r.rows[0] ? backgroundGrantFromRow(r.rows[0]) : undefined;
    },
    async revokeBackgroundGrant(grantId, owner) {
      const r = await pool.query('UPDATE custos_background_grants SET revoked = 1 WHERE grant_id = $1 AND sub = $2 AND iss = $3', [
        grantId,
        owner.sub,
        owner.iss,
      ]);
      return r.rowCount === 1;
    },
    async readMeta(name) {
      const { rows } = await pool.query<{ value: string }>('SELECT value FROM custos_session_meta WHERE name = $1', [name]);
      return rows[0]?.value;
    },
    async claimMeta(name, value) {
      await pool.query('INSERT INTO custos_session_meta (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING', [name, value]);
      const { rows } = await pool.query<{ value: string }>('SELECT value FROM custos_session_meta WHERE name = $1', [name]);
      return rows[0]!.value;
    },
    async replaceMeta(name, value) {
      await pool.query('UPDATE custos_session_meta SET value = $1 WHERE name = $2', [value, name]);
    },
    async holdsRows() {
      const { rows } = await pool.query(`${IDENTIFYING_TABLES.map((t) => `SELECT 1 FROM ${t}`).join(' UNION ALL ')} LIMIT 1`);
      return rows.length > 0;
    },
    async putMcpSession(record, purgeBeforeMs) {
      const r = mcpSessionToRow(record);
      await pool.query('DELETE FROM custos_mcp_sessions WHERE last_seen_ms < $1', [purgeBeforeMs]);
      await pool.query(MCP_SESSION_UPSERT, [r.id, r.iss, r.sub, r.opened_ms, r.last_seen_ms, r.state]);
    },
    async getMcpSession(id) {
      const r = await pool.query<McpSessionSqlRow>('SELECT * FROM custos_mcp_sessions WHERE id = $1', [id]);
      return r.rows[0] ? mcpSessionFromRow(r.rows[0]) : undefined;
    },
    async removeMcpSession(id) {
      await pool.query('DELETE FROM custos_mcp_sessions WHERE id = $1', [id]);
    },
    async close() {
      closed = true;
      listening = false;
      await listener?.end().catch(() => undefined);
      await pool.end();
    },
  };
}
