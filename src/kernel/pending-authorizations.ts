/**
 * The port of the decision API's pending authorizations: an authorization `POST /v1/authorize`
 * gave out whose next leg (`POST /v1/results`, or the human's answer on `POST /v1/confirmations`)
 * is still to come. In the store the replicas share, so that leg may reach any replica; taking a
 * row is atomic, so each authorization is completed (or answered) once, on one replica.
 */
import type { Authorization } from './pipeline.js';

export interface PendingAuthorizationRow {
  readonly requestId: string;
  readonly owner: { readonly sub: string; readonly iss: string };
  /** True while held for a human's answer (a `confirm` decision); false once allowed, waiting for its result. */
  readonly held: boolean;
  /** When it lapses, ms since epoch. */
  readonly expiresAt: number;
  readonly authorization: Authorization;
}

export interface PendingAuthorizationStore {
  /** Stores the row; false when a live row (not expired at `now`) has its request id. */
  put(row: PendingAuthorizationRow, now: number): Promise<boolean>;
  /** The live row of this request id, if any. */
  get(requestId: string, now: number): Promise<PendingAuthorizationRow | undefined>;
  /** Removes and returns the live row when it is `owner`'s and `held` matches; atomic: one caller (on any replica) gets it. */
  take(requestId: string, owner: PendingAuthorizationRow['owner'], held: boolean, now: number): Promise<PendingAuthorizationRow | undefined>;
  /** Removes and returns the rows expired at `now`, then (with a bound) the oldest while `maxLive` or more are left; each row to one caller only. */
  sweep(now: number, maxLive?: number): Promise<Array<{ readonly row: PendingAuthorizationRow; readonly cause: 'expired' | 'bound' }>>;
  /** Every live row, oldest first. */
  list(now: number): Promise<PendingAuthorizationRow[]>;
  close(): Promise<void>;
}
