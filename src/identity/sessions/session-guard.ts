/**
 * The session guard: refuses a principal whose session was revoked (ERR_IDENTITY_SESSION_REVOKED)
 * or idle past its tier's automatic logoff (ERR_IDENTITY_SESSION_IDLE), and records activity.
 *
 * Rules (docs/identity.md, "Sessions"):
 * - No user, no call: a service credential (a token the verifier marked as a machine's own:
 *   `sub` = its client id as RFC 9068 §2.2 shapes them, or an IdP's marker, `Principal.machine`) is refused
 *   (ERR_IDENTITY_CLIENT_NOT_INTERACTIVE): agents act for a user through token exchange.
 * - A session is the token's `iss` + `sid`; a token without `sid` is tracked per user (`iss` + `sub`).
 * - A revoked `sid` is dead: every token naming it is refused, whatever its `iat`.
 * - Revoking a user refuses every token of that user issued (`iat`) at or before the revocation.
 * - Idle: activity is max(last admitted request, token `iat`). Past `idleTimeoutSec[tier]` the
 *   session is logged off at last + timeout; only a token issued after that moment (a new
 *   sign-in or refresh) starts a fresh window. 0 turns idle logoff off for that tier.
 */
import { CustosError } from '../../kernel/index.js';
import type { Clock, Principal, SessionGuard, Tier } from '../../kernel/index.js';
import type { Activity, SessionStore } from './types.js';

export interface SessionGuardOptions {
  readonly store: SessionStore;
  readonly clock: Clock;
  /** Seconds of inactivity before automatic logoff, per tier; 0 or absent = never. */
  readonly idleTimeoutSec: Partial<Record<Tier, number>>;
  /** Activity is written to the store at most this often per session (default 30 s). */
  readonly writeIntervalMs?: number;
}

export interface SessionAdmin {
  revokeSession(iss: string, sid: string): Promise<void>;
  revokeUser(iss: string, sub: string): Promise<void>;
}

/** The store key of a principal's session. */
export function sessionKeyOf(p: Pick<Principal, 'iss' | 'sub' | 'sessionId'>): string {
  return p.sessionId === undefined ? `${p.iss}\nuser:${p.sub}` : `${p.iss}\nsid:${p.sessionId}`;
}

/** True when the principal is a workload acting for itself, not a user. */
export function isServiceCredential(p: Principal): boolean {
  return p.machine !== undefined || (p.clientId !== undefined && p.sub === p.clientId);
}

/** Throws when the store says the principal's session or user was revoked. */
export async function assertNotRevoked(store: SessionStore, p: Principal): Promise<void> {
  const state = await store.revocation(p.iss, p.sub, p.sessionId);
  const issuedMs = p.issuedAt === undefined ? undefined : p.issuedAt * 1000;
  const userRevoked = state.userRevokedAt !== undefined && (issuedMs === undefined || issuedMs <= state.userRevokedAt);
  if (state.sessionRevokedAt !== undefined || userRevoked) throw new CustosError('ERR_IDENTITY_SESSION_REVOKED');
}

/** Whether the activity, seen with this token at `now`, is logged off; and when it was. */
function idleState(a: Activity | undefined, p: Principal, now: number, timeoutMs: number): { idle: boolean; loggedOffMs?: number } {
  const issuedMs = p.issuedAt === undefined ? undefined : p.issuedAt * 1000;
  if (a?.loggedOffMs !== undefined && (issuedMs === undefined || issuedMs <= a.loggedOffMs)) return { idle: true, loggedOffMs: a.loggedOffMs };
  const last = Math.max(a?.lastActiveMs ?? -Infinity, issuedMs ?? -Infinity);
  if (last === -Infinity) return { idle: false };
  return now - last > timeoutMs ? { idle: true, loggedOffMs: last + timeoutMs } : { idle: false };
}

export function createSessionGuard(options: SessionGuardOptions): SessionGuard & SessionAdmin {
  const { store, clock } = options;
  const writeInterval = options.writeIntervalMs ?? 30_000;
  const local = new Map<string, Activity & { persistedMs: number }>();
  const timeoutOf = (tier: Tier): number => (options.idleTimeoutSec[tier] ?? 0) * 1000;

  async function activityOf(key: string): Promise<Activity | undefined> {
    return local.get(key) ?? (await store.readActivity(key));
  }

  async function check(p: Principal, tier: Tier): Promise<void> {
    if (isServiceCredential(p))
      throw new CustosError('ERR_IDENTITY_CLIENT_NOT_INTERACTIVE', 'A service credential has no user: agents act for a user through token exchange.');
    await assertNotRevoked(store, p);
    const timeoutMs = timeoutOf(tier);
    if (timeoutMs <= 0) return;
    const key = sessionKeyOf(p);
    const now = clock.now().getTime();
    let state = idleState(await activityOf(key), p, now, timeoutMs);
    // Another replica may have seen the session since: confirm with the store before logging off.
    if (state.idle) state = idleState(await store.readActivity(key), p, now, timeoutMs);
    if (!state.idle) return;
    const logoff = state.loggedOffMs ?? now;
    const stored = await store.readActivity(key);
    if (stored?.loggedOffMs !== logoff) await store.writeActivity(key, { lastActiveMs: stored?.lastActiveMs ?? logoff - timeoutMs, loggedOffMs: logoff });
    local.delete(key);
    throw new CustosError('ERR_IDENTITY_SESSION_IDLE');
  }

  async function touch(p: Principal, tier: Tier): Promise<void> {
    if (timeoutOf(tier) <= 0) return;
    const key = sessionKeyOf(p);
    const now = clock.now().getTime();
    const seen = local.get(key);
    if (seen && seen.loggedOffMs === undefined && now - seen.persistedMs < writeInterval) {
      local.set(key, { ...seen, lastActiveMs: now });
      return;
    }
    await store.writeActivity(key, { lastActiveMs: now });
    local.set(key, { lastActiveMs: now, persistedMs: now });
  }

  return {
    check,
    touch,
    async revokeSession(iss, sid) {
      await store.revokeSession(iss, sid, clock.now().getTime());
    },
    async revokeUser(iss, sub) {
      await store.revokeUser(iss, sub, clock.now().getTime());
      for (const key of local.keys()) if (key.startsWith(`${iss}\n`)) local.delete(key);
    },
  };
}
