/** What the identity module provides the front doors for sessions, revocation and break-glass (ports; src/app wires them). */
import type { Principal, SessionGuard } from '../../kernel/index.js';

export interface SessionAdminPort {
  revokeSession(iss: string, sid: string): Promise<void>;
  revokeUser(iss: string, sub: string): Promise<void>;
}

export interface LogoutPort {
  /** Verifies a back-channel logout token and applies the revocation; throws a CustosError when it is not valid. */
  logout(token: string): Promise<{ readonly iss: string; readonly sid?: string; readonly sub?: string; readonly jti: string }>;
}

export interface EmergencyGrantView {
  readonly id: string;
  readonly holder: { readonly sub: string; readonly iss: string };
  readonly sessionId?: string;
  readonly openedAt: string;
  readonly expiresAt: string;
  readonly closedBy?: string;
  readonly closedAt?: string;
}

export interface EmergencyPort {
  /** `record` writes the audit row before the grant is stored; when it throws, no grant is stored. */
  open(principal: Principal, reason: string, record?: (grant: EmergencyGrantView) => Promise<void>): Promise<EmergencyGrantView>;
  activeGrant(principal: Principal): Promise<{ readonly grantId: string } | undefined>;
  listReviews(): Promise<EmergencyGrantView[]>;
  closeReview(grantId: string, reviewer: Principal): Promise<EmergencyGrantView>;
}

export interface IdentityServices {
  /** Revocation and automatic logoff, checked on every authenticated request. */
  readonly sessions?: SessionGuard;
  /** `POST /v1/admin/sessions/revoke`, for callers holding one of `roles`. */
  readonly admin?: SessionAdminPort & { readonly roles: readonly string[] };
  /** `POST /oauth/backchannel-logout`. */
  readonly logout?: LogoutPort;
  /** `POST /v1/emergency/grants`, the review queue, and the grant lookup of each call. */
  readonly emergency?: EmergencyPort;
}
