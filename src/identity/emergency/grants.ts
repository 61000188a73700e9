/**
 * Break-glass emergency access (164.312(a)(2)(ii)): a user holding an emergency role opens a
 * time-boxed grant with a written reason; while it is open, that user's calls from the same
 * IdP session (and delegation tokens carrying its `sid`) run with `emergency` set; every grant
 * enters a review queue that a second person (not the holder, holding a reviewer role) closes.
 */
import { CustosError } from '../../kernel/index.js';
import type { Clock, EmergencyGrant, EmergencyPort, IdSource, Principal } from '../../kernel/index.js';
import type { EmergencyGrantRow, SessionStore } from '../sessions/index.js';

export type { EmergencyGrant };

export interface EmergencyAccessOptions {
  readonly store: SessionStore;
  readonly clock: Clock;
  readonly ids: IdSource;
  /** Roles that may open a grant (default ['break-glass']). */
  readonly roles: readonly string[];
  /** Roles that may close a review (default ['custos-admin']). */
  readonly reviewerRoles: readonly string[];
  /** Lifetime of a grant (default 3600). */
  readonly grantTtlSec: number;
}

/** Identity's break-glass service is the kernel's EmergencyPort. */
export type EmergencyAccess = EmergencyPort;

export const MAX_REASON_CHARS = 2000;

function toGrant(r: EmergencyGrantRow): EmergencyGrant {
  return {
    id: r.id,
    holder: { sub: r.sub, iss: r.iss },
    ...(r.sid === undefined ? {} : { sessionId: r.sid }),
    openedAt: new Date(r.openedMs).toISOString(),
    expiresAt: new Date(r.expiresMs).toISOString(),
    ...(r.closedBy === undefined ? {} : { closedBy: r.closedBy, closedAt: new Date(r.closedMs ?? 0).toISOString() }),
  };
}

const holds = (p: Principal, roles: readonly string[]): boolean => p.roles.some((r) => roles.includes(r));

export function createEmergencyAccess(options: EmergencyAccessOptions): EmergencyAccess {
  const { store, clock } = options;

  return {
    async open(principal, reason, record) {
      if (!holds(principal, options.roles)) throw new CustosError('ERR_IDENTITY_NOT_ENTITLED', 'Emergency access needs a break-glass entitlement.');
      const text = reason.trim();
      if (text === '' || text.length > MAX_REASON_CHARS)
        throw new CustosError('ERR_GATEWAY_BAD_REQUEST', `A written reason (1 to ${MAX_REASON_CHARS} characters) is required.`);
      const now = clock.now().getTime();
      const row: EmergencyGrantRow = {
        id: options.ids.newId(),
        iss: principal.iss,
        sub: principal.sub,
        ...(principal.sessionId === undefined ? {} : { sid: principal.sessionId }),
        openedMs: now,
        expiresMs: now + options.grantTtlSec * 1000,
      };
      const grant = toGrant(row);
      if (record) await record(grant);
      await store.putGrant(row);
      return grant;
    },
    async activeGrant(principal) {
      const now = clock.now().getTime();
      const grant = (await store.liveGrantsOf(principal.iss, principal.sub, now)).find((g) => g.sid === undefined || g.sid === principal.sessionId);
      return grant ? { grantId: grant.id } : undefined;
    },
    async listReviews() {
      return (await store.openReviews()).map(toGrant);
    },
    async closeReview(grantId, reviewer) {
      const grant = await store.getGrant(grantId);
      if (!grant) throw new CustosError('ERR_GATEWAY_NOT_FOUND', 'No emergency grant has this id.');
      if (grant.sub === reviewer.sub && grant.iss === reviewer.iss) {
        throw new CustosError('ERR_IDENTITY_NOT_ENTITLED', 'The holder of a grant may not review it: a second person must.');
      }
      if (!holds(reviewer, options.reviewerRoles)) throw new CustosError('ERR_IDENTITY_NOT_ENTITLED', 'Closing a review needs a reviewer role.');
      if (!(await store.closeGrant(grantId, reviewer.sub, clock.now().getTime()))) {
        throw new CustosError('ERR_GATEWAY_CONFLICT', 'The review of this grant is already closed.');
      }
      return toGrant((await store.getGrant(grantId)) ?? grant);
    },
  };
}
