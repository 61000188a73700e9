/**
 * Audited fail-open, the decision API's side (docs/api.md#audited-fail-open):
 *   POST /v1/failopen/metadata  { journal_key, agent? } → 200 { metadata, expires_at, bundle_hash, fail_open }
 *     signed (Custos' keys) for the caller, the agent's derived tier and the bundle in force;
 *   POST /v1/failopen/journal   { metadata, journal_key, entries, outage_ended } → 200 { recorded, seqs }
 *     the journal of an outage, verified whole, each entry an `intent`/`result` row marked offline.
 * A journal that does not verify is refused whole: a `deny` row (`journal_invalid`) under the caller, then 400.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { DENY_REASONS, isCustosError } from '../../kernel/index.js';
import type { OfflineJournalPort, Pipeline, PolicySource } from '../../kernel/index.js';
import type { Authenticator } from '../shared/auth.js';
import { readJsonBody, sendJson } from '../shared/io.js';
import type { DeriveAgent } from '../types.js';
import { parseBody } from './schemas.js';

const MetadataRequest = z.strictObject({
  journal_key: z.record(z.string(), z.unknown()),
  agent: z.strictObject({ name: z.string().min(1).max(128), runtime: z.string().max(128).optional(), version: z.string().max(64).optional() }).optional(),
});

export interface FailOpenRoutesDeps {
  readonly auth: Authenticator;
  readonly journal: OfflineJournalPort;
  readonly pipeline: Pipeline;
  readonly policy: PolicySource;
  readonly deriveAgent: DeriveAgent;
  readonly maxBodyBytes: number;
}

type Route = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export function createFailOpenRoutes(deps: FailOpenRoutesDeps): Array<[string, Route]> {
  async function metadata(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const principal = await deps.auth.authenticate(req, res);
    if (!principal) return;
    const body = parseBody(MetadataRequest, await readJsonBody(req, deps.maxBodyBytes));
    const policy = deps.policy.current();
    const { agent } = deps.deriveAgent(principal, { name: body.agent?.name ?? 'unknown', runtime: body.agent?.runtime, version: body.agent?.version });
    const failOpenTools = policy.failOpenTools ?? [];
    const signed = await deps.journal.issueMetadata({ principal, agent, bundleHash: policy.bundleHash, failOpenTools, journalKey: body.journal_key });
    sendJson(res, 200, {
      metadata: signed.metadata,
      expires_at: new Date(signed.expiresAt * 1000).toISOString(),
      bundle_hash: policy.bundleHash,
      fail_open: failOpenTools,
    });
  }

  async function journal(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const principal = await deps.auth.authenticate(req, res);
    if (!principal) return;
    const body = await readJsonBody(req, deps.maxBodyBytes);
    let verified;
    try {
      verified = await deps.journal.verifyDelivery(principal, body);
    } catch (err) {
      if (isCustosError(err) && err.code === 'ERR_IDENTITY_JOURNAL_INVALID') {
        await deps.pipeline.recordRefusal({ reasons: [DENY_REASONS.JOURNAL_INVALID], principal, detail: { ...err.detail } });
      }
      throw err;
    }
    const rows = await deps.pipeline.recordOffline(verified);
    sendJson(res, 200, { recorded: rows.length, seqs: rows.map((r) => r.seq) });
  }

  return [
    ['POST /v1/failopen/metadata', metadata],
    ['POST /v1/failopen/journal', journal],
  ];
}
