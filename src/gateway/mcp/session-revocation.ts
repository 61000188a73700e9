/**
 * Revocation ends the user's open MCP sessions. A session remembers who opened it, when,
 * and every IdP session (`sid`) whose tokens it carried. A revocation covers it when one of
 * those `sid`s is revoked, or when its user is revoked at or after it opened (a user
 * revocation refuses the tokens issued up to it; a session opened later, with a later token,
 * stays). Covered sessions are ended: forgotten (their id is 404 from then on, whatever
 * token comes with it), their SDK Server closed (which releases their upstream subscriptions
 * and per-session upstream connections), and one `admin` row per session written under
 * the user (`mcp_session_ended`, reason `session_revoked`). Announced revocations end them at
 * once; a session that missed the announcement is checked against the store on its next
 * request and ended then.
 */
import type { Pipeline, Principal, Revocation, RevocationFeed } from '../../kernel/index.js';
import type { Logger } from '../types.js';

/** What revocation needs to know about an open MCP session. */
export interface RevocableSession {
  /** The principal that opened it (its rows are written under this user). */
  readonly principal: Principal;
  readonly openedAt: number;
  /** Every `sid` whose tokens it carried. */
  readonly sessionIds: Set<string>;
}

/** At most this many `sid`s are remembered per MCP session (a user signing in again and again on one session). */
const MAX_SIDS = 64;

export function rememberSid(session: RevocableSession, principal: Principal): void {
  if (principal.sessionId === undefined || session.sessionIds.has(principal.sessionId)) return;
  if (session.sessionIds.size >= MAX_SIDS) session.sessionIds.delete(session.sessionIds.values().next().value as string);
  session.sessionIds.add(principal.sessionId);
}

export function coveredBy(session: RevocableSession, r: Revocation): boolean {
  const owner = session.principal;
  if (owner.iss !== r.iss) return false;
  if (r.sid !== undefined) return session.sessionIds.has(r.sid);
  return r.sub === owner.sub && session.openedAt <= r.atMs;
}

/** The revocation, if any, that has ended this session since it opened (asked of the store). */
export function revocationOf(feed: RevocationFeed | undefined, session: RevocableSession): Promise<Revocation | undefined> {
  if (!feed) return Promise.resolve(undefined);
  const { iss, sub } = session.principal;
  return feed.revocationSince({ iss, sub, sessionIds: [...session.sessionIds] }, session.openedAt);
}

/** The trail row of an ended session; a store that cannot write is logged (the session ends either way). */
export async function recordSessionEnded(deps: { pipeline: Pipeline; logger: Logger }, id: string, session: RevocableSession, r: Revocation): Promise<void> {
  const revocation = { iss: r.iss, ...(r.sid !== undefined ? { session_id: r.sid } : { sub: r.sub }), at: new Date(r.atMs).toISOString() };
  deps.logger.info({ session: id, sub: session.principal.sub }, 'MCP session ended: revoked');
  try {
    await deps.pipeline.recordAdmin({
      action: 'mcp_session_ended',
      principal: session.principal,
      detail: { reason: 'session_revoked', mcp_session: id, revocation },
    });
  } catch (err) {
    deps.logger.error(
      { session: id, sub: session.principal.sub, err: err instanceof Error ? err.name : 'error' },
      'MCP session ended, but its audit row could not be written',
    );
  }
}
