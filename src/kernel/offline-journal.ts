/**
 * Audited fail-open (docs/architecture.md, invariants): the SDK may run a tool the signed
 * bundle declares `failOpen` while Custos is unreachable, each call first written to a durable
 * signed local journal. These are the shapes of that exception: the metadata Custos signs
 * while reachable, and the journal entries it turns into rows (`offline` set) when delivered.
 */
import type { AgentContext, Principal, ToolRef } from './types.js';

/** One verified journal entry: an `intent` before the call ran, a `result` after it. */
export interface OfflineEntry {
  readonly phase: 'intent' | 'result';
  readonly requestId: string;
  /** When the SDK wrote it (its clock), ISO 8601. */
  readonly occurredAt: string;
  readonly tool: ToolRef;
  readonly agentName: string;
  /** SHA-256 of the raw arguments (intent) or output (result), hex: nothing raw leaves the agent's host. */
  readonly sha256: string;
  /** On a result: the tool threw. */
  readonly error?: boolean;
  readonly journal: { readonly keyThumbprint: string; readonly seq: number; readonly entryHash: string };
  /** When the SDK lost Custos, and when it reached it again (delivery). */
  readonly outage: { readonly from: string; readonly to: string };
}

/** A delivered journal, verified: who it was attested for, under which bundle, and its entries in order. */
export interface VerifiedJournal {
  readonly principal: Principal;
  readonly agent: Pick<AgentContext, 'tier' | 'delegationChain'>;
  readonly bundleHash: string;
  readonly entries: readonly OfflineEntry[];
}

/** What the fail-open metadata attests: the principal, the agent's derived context, the bundle and its fail-open tools. */
export interface FailOpenAttestation {
  readonly principal: Principal;
  readonly agent: AgentContext;
  readonly bundleHash: string;
  /** `server/name` keys the bundle declares fail-open. */
  readonly failOpenTools: readonly string[];
  /** The SDK's journal public key (an Ed25519 JWK): entries must be signed by it. */
  readonly journalKey: unknown;
}

/** Signs fail-open metadata and verifies delivered journals with Custos' own keys (identity implements it). */
export interface OfflineJournalPort {
  /** The signed metadata (a compact JWS) and its expiry (seconds since epoch). Throws ERR_IDENTITY_JOURNAL_INVALID on a bad journal key. */
  issueMetadata(attestation: FailOpenAttestation): Promise<{ readonly metadata: string; readonly expiresAt: number }>;
  /** Verifies a delivery by `principal` (all or nothing); throws ERR_IDENTITY_JOURNAL_INVALID naming the problem. */
  verifyDelivery(principal: Principal, body: unknown): Promise<VerifiedJournal>;
}
