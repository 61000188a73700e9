/**
 * Floods cost the flooder: every door that refuses a request for want of a verified
 * credential (no token, a bad token, a bad token exchange or logout token) goes through
 * here. The failure spends from its source's budget (rate-limit.ts) and is recorded in
 * aggregate (auth-failure-log.ts); past the budget the answer is 429 with Retry-After
 * instead of the door's own refusal. A request that authenticates never comes here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CustosError } from '../../kernel/index.js';
import type { CallKind, Logger, Pipeline } from '../../kernel/index.js';
import { createAuthFailureLog } from './auth-failure-log.js';
import { createSourceOf } from './client-address.js';
import { sendError } from './io.js';
import { createFailureLimiter, DEFAULT_FAILURE_LIMITS } from './rate-limit.js';
import type { FailureLimits } from './rate-limit.js';

export interface AuthFailureSettings extends FailureLimits {
  /** Length of an aggregation window of auth_failure rows. */
  readonly windowMs: number;
}

export const DEFAULT_AUTH_FAILURE_SETTINGS: AuthFailureSettings = { ...DEFAULT_FAILURE_LIMITS, windowMs: 60_000 };

export interface Refusal {
  readonly code: string;
  readonly kind?: CallKind;
  readonly traceId?: string;
  /** The door already wrote this failure's row (the token endpoint's deny row): only the budget is spent. */
  readonly recorded?: boolean;
}

export interface FloodGuard {
  /** The source the request counts against. */
  sourceOf(req: IncomingMessage): string;
  /** True when the source has no failure budget left now (nothing is spent). */
  isLimited(source: string): boolean;
  /** Spends, records, and answers: 429 past the budget, else `reply()` (the door's own refusal). */
  refuse(req: IncomingMessage, res: ServerResponse, refusal: Refusal, reply: () => void, source?: string): Promise<void>;
  /** Writes every window whose end has passed (the gateway calls it on a timer). */
  flushDue(): Promise<void>;
  /** Writes every pending count (shutdown). */
  close(): Promise<void>;
}

export interface FloodGuardDeps {
  readonly pipeline: Pipeline;
  readonly logger: Logger;
  readonly settings?: Partial<AuthFailureSettings>;
  readonly trustedProxies?: readonly string[];
  /** Milliseconds since epoch (default Date.now). */
  readonly now?: () => number;
}

export function createFloodGuard(deps: FloodGuardDeps): FloodGuard {
  const settings = { ...DEFAULT_AUTH_FAILURE_SETTINGS, ...deps.settings };
  const now = deps.now ?? Date.now;
  const sourceOf = createSourceOf(deps.trustedProxies);
  const limiter = createFailureLimiter(settings, now);
  const log = createAuthFailureLog({ pipeline: deps.pipeline, logger: deps.logger, windowMs: settings.windowMs, maxSources: settings.maxSources, now });

  return {
    sourceOf,
    isLimited: (source) => limiter.limited(source) !== undefined,
    async refuse(req, res, refusal, reply, known) {
      const source = known ?? sourceOf(req);
      const retryAfterSec = limiter.spend(source);
      const limited = retryAfterSec !== undefined;
      if (!refusal.recorded) await log.record({ source, code: refusal.code, kind: refusal.kind, traceId: refusal.traceId, limited });
      if (!limited) {
        reply();
        return;
      }
      const err = new CustosError('ERR_GATEWAY_RATE_LIMITED', undefined, { detail: { retry_after_sec: retryAfterSec } });
      sendError(res, err, deps.logger, { 'retry-after': String(retryAfterSec) });
    },
    flushDue: () => log.flushDue(),
    close: () => log.close(),
  };
}
