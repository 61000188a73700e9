/**
 * Confirmations on the decision API. `POST /v1/authorize` holds a call the policy decides
 * `confirm` (a `confirm` row with channel `api`, kept in the pending store with its TTL); the
 * framework asks the human in its own UI and reports the answer here:
 *   POST /v1/confirmations  `{ "request_id", "outcome": "accepted" | "declined" }`
 * accepted → `{ decision: "allow", ... }` (complete it with POST /v1/results); declined → deny.
 * Unknown or expired → 404, another user → 403 (and an alert row), a call not held → 409.
 * A hold that expires unanswered gets its `confirmation_timeout` deny row when Custos drops it
 * (the late attempt, or the next sweep of the store); one dropped because the store is full,
 * `confirmation_unavailable`. Documented in docs/api.md.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { CustosError } from '../../kernel/index.js';
import type { ConfirmationOutcome, Pipeline } from '../../kernel/index.js';
import type { Logger } from '../types.js';
import type { Authenticator } from '../shared/auth.js';
import { buildDecisionReply } from './decision-reply.js';
import { readJsonBody, sendJson } from '../shared/io.js';
import type { PendingAuthorization, PendingStore } from './pending-store.js';
import { ConfirmationRequest, parseBody } from './schemas.js';

/** The `confirmation.channel` of rows whose confirmation the framework collected over the decision API. */
export const API_CONFIRMATION_CHANNEL = 'api';
export const CONFIRMATION_FOREIGN_USER = 'confirmation_foreign_user';

export interface ConfirmationApiDeps {
  readonly auth: Authenticator;
  readonly pipeline: Pipeline;
  readonly pending: PendingStore;
  readonly logger: Logger;
  readonly maxBodyBytes: number;
}

export type ConfirmationBody = z.infer<typeof ConfirmationRequest>;

const isHeld = (entry: PendingAuthorization): boolean => entry.authorization.decision.decision === 'confirm';

export function createConfirmationApi(deps: ConfirmationApiDeps): { confirm(req: IncomingMessage, res: ServerResponse): Promise<void> } {
  /** Outcome rows of dropped holds still being written, so a late attempt answers after its row exists. */
  const settling = new Map<string, Promise<void>>();

  deps.pending.onEvict((requestId, entry, cause) => {
    if (!isHeld(entry)) return;
    const outcome: ConfirmationOutcome = cause === 'expired' ? 'timeout' : 'unavailable';
    const written = deps.pipeline
      .confirm(entry.authorization, outcome)
      .then(() => undefined)
      .catch((err: unknown) =>
        deps.logger.error({ request_id: requestId, code: err instanceof CustosError ? err.code : 'ERR_INTERNAL' }, 'could not record a dropped confirmation'),
      )
      .finally(() => settling.delete(requestId));
    settling.set(requestId, written);
  });

  async function confirm(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const principal = await deps.auth.authenticate(req, res, { kind: 'tool' });
    if (!principal) return;
    const body: ConfirmationBody = parseBody(ConfirmationRequest, await readJsonBody(req, deps.maxBodyBytes));
    // Answered once, taken atomically on any replica: a second answer, or a results post for a declined call, finds nothing.
    const entry = await deps.pending.take(body.request_id, principal, true);
    if (!entry) {
      const other = await deps.pending.get(body.request_id);
      if (other && (other.owner.sub !== principal.sub || other.owner.iss !== principal.iss)) {
        await deps.pipeline.recordAlert({ type: CONFIRMATION_FOREIGN_USER, severity: 'high', principal, detail: { request_id: body.request_id } });
        throw new CustosError('ERR_IDENTITY_SESSION_MISMATCH', 'The authorization belongs to another user.');
      }
      if (other && !isHeld(other)) throw new CustosError('ERR_GATEWAY_CONFLICT', 'The request_id was not held for confirmation.');
      await settling.get(body.request_id);
      throw new CustosError('ERR_GATEWAY_NOT_FOUND', 'No held authorization has this request_id (unknown, expired or already answered).');
    }
    let outcome;
    try {
      outcome = await deps.pipeline.confirm(entry.authorization, body.outcome);
    } catch (err) {
      await deps.pending.restore(body.request_id, entry).catch(() => undefined); // the answer is not recorded: it may be given again
      throw err;
    }
    const held = outcome.decision.decision === 'allow' ? await deps.pending.add(body.request_id, outcome, principal) : undefined;
    sendJson(res, 200, buildDecisionReply(outcome, held));
  }

  return { confirm };
}
