/**
 * What the identity module provides the front doors besides token verification: session
 * administration, back-channel logout and break-glass. Ports; src/app wires the adapters.
 */
import type { SessionGuard } from './ports.js';
import type { Principal } from './types.js';

export interface SessionAdminPort {
  revokeSession(iss: string, sid: string): Promise<void>;
  revokeUser(iss: string, sub: string): Promise<void>;
}

/** A revocation as it happened: one IdP session (`sid`), or every session of a user (`sub`) up to `atMs`. */
export interface Revocation {
  readonly iss: string;
  readonly sid?: string;
  readonly sub?: string;
  /** When it was revoked, ms since epoch. */
  readonly atMs: number;
}

/** Revocations as they happen, so the front doors can end what they hold open for a revoked user. */
export interface RevocationFeed {
  /** Calls `listener` for each revocation made here or (PostgreSQL) on another replica; returns the unsubscribe function. */
  onRevoked(listener: (revocation: Revocation) => void): () => void;
  /**
   * The revocation, if any, that ends a long-lived session opened at `sinceMs` by `who` with
   * tokens of these `sid`s: one of the `sid`s revoked, or the user revoked at or after `sinceMs`.
   */
  revocationSince(
    who: { readonly iss: string; readonly sub: string; readonly sessionIds: readonly string[] },
    sinceMs: number,
  ): Promise<Revocation | undefined>;
}

/** What a valid back-channel logout token revoked. */
export interface LogoutOutcome {
  readonly iss: string;
  readonly sid?: string;
  readonly sub?: string;
  readonly jti: string;
}

export interface LogoutPort {
  /**
   * Verifies a back-channel logout token, applies the revocation, then runs `complete` (the
   * front door's audit row); throws a CustosError when it is not valid. When the revocation or
   * `complete` fails, the token may be delivered again (its jti is not kept as used).
   */
  logout(token: string, complete?: (outcome: LogoutOutcome) => Promise<void>): Promise<LogoutOutcome>;
}

/** A break-glass grant as the front doors and the trail see it. */
export interface EmergencyGrant {
  readonly id: string;
  readonly holder: { readonly sub: string; readonly iss: string };
  readonly sessionId?: string;
  readonly openedAt: string;
  readonly expiresAt: string;
  readonly closedBy?: string;
  readonly closedAt?: string;
}

/** Break-glass emergency access (164.312(a)(2)(ii)); the identity module implements it. */
export interface EmergencyPort {
  /**
   * Opens a grant; ERR_IDENTITY_NOT_ENTITLED without an emergency role, ERR_GATEWAY_BAD_REQUEST without a reason.
   * Fail closed: `record` (the caller's audit write, given the grant with its id) runs BEFORE
   * the grant is stored; when it throws, nothing is stored and the error propagates.
   */
  open(principal: Principal, reason: string, record?: (grant: EmergencyGrant) => Promise<void>): Promise<EmergencyGrant>;
  /** The open, unexpired grant covering this principal's session, if any. */
  activeGrant(principal: Principal): Promise<{ readonly grantId: string } | undefined>;
  /** Grants whose post-hoc review is still open. */
  listReviews(): Promise<EmergencyGrant[]>;
  /** Closes a review; the reviewer must not be the holder and must hold a reviewer role. */
  closeReview(grantId: string, reviewer: Principal): Promise<EmergencyGrant>;
}

/**
 * An MCP session as the shared store keeps it, so that any replica can continue a session
 * another one initialized: its owner, what the client declared at `initialize`, and what it
 * changed since (resource subscriptions, log level, the IdP sessions whose tokens it carried).
 */
export interface McpSessionRecord {
  readonly id: string;
  readonly owner: { readonly sub: string; readonly iss: string };
  readonly openedMs: number;
  /** Last request seen by any replica (written at most once per refresh interval). */
  readonly lastSeenMs: number;
  /** The protocol version negotiated at `initialize`. */
  readonly protocolVersion: string;
  readonly clientInfo: { readonly name: string; readonly version: string };
  /** The client's declared capabilities (elicitation, sampling, roots…), as sent. */
  readonly capabilities: Record<string, unknown>;
  /** Namespaced resource URIs the session is subscribed to. */
  readonly subscriptions: readonly string[];
  readonly logLevel?: string;
  /** The IdP sessions (`sid`) whose tokens it carried (revoking one ends it). */
  readonly sessionIds: readonly string[];
}

/** The shared MCP session store (the identity session store: SQLite, or PostgreSQL across replicas). */
export interface McpSessionStore {
  /** Inserts or replaces the record, and drops records not seen since `purgeBeforeMs`. */
  put(record: McpSessionRecord, purgeBeforeMs: number): Promise<void>;
  get(id: string): Promise<McpSessionRecord | undefined>;
  /** Forgets the session (closed by its client, or revoked). */
  remove(id: string): Promise<void>;
}

export interface IdentityServices {
  /** MCP session state shared by every replica on the store (any replica continues any session). */
  readonly mcpSessions?: McpSessionStore;
  /** Revocation and automatic logoff, checked on every authenticated request. */
  readonly sessions?: SessionGuard;
  /** `POST /v1/admin/sessions/revoke`, for callers holding one of `roles`. */
  readonly admin?: SessionAdminPort & { readonly roles: readonly string[] };
  /** Revocations as they happen: the MCP gateway ends the revoked user's open sessions. */
  readonly revocations?: RevocationFeed;
  /** `POST /oauth/backchannel-logout`. */
  readonly logout?: LogoutPort;
  /** `POST /v1/emergency/grants`, the review queue, and the grant lookup of each call. */
  readonly emergency?: EmergencyPort;
}
