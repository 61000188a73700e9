/**
 * The two decision stages of data leaving Custos, in their own file:
 *   redact_model — a model-provider request (`kind: 'model'`) is redacted for its destination
 *                  (`model`) before anything else sees it; with a PseudonymVault the markers
 *                  are reversible pseudonyms `[redacted:TYPE#ID]` the front door restores in
 *                  the answer to the same user. The trail never holds them: its copy is
 *                  redacted irreversibly by redact_input.
 *   egress       — the call's destinations checked against the bundle's allow-list (egress.ts).
 * They read and fill the draft of pipeline-stages.ts through the narrow view below, so this
 * file does not import that one.
 */
import { DENY_REASONS } from './deny-reasons.js';
import { checkEgress } from './egress.js';
import type { EgressFinding, EgressGuard } from './egress.js';
import type { ActivePolicy, Protector } from './ports.js';
import { redactionScope } from './redaction-scope.js';
import type { Principal, Redaction, ToolCall } from './types.js';

/** Reversible pseudonyms of the model-provider leg; src/protect implements it, in memory with expiry. */
export interface PseudonymVault {
  /** The marker maker of one request of this user: `[redacted:TYPE#ID]`, the same ID for the same value. */
  markerFor(principal: Principal): (type: string, original: string) => string;
  /** This user's live pseudonyms in `text` restored; another user's, expired or unknown ones stay markers. */
  restore(principal: Principal, text: string): string;
}

/** The part of a pipeline draft these stages read and fill. */
export interface OutboundDraft {
  readonly call: ToolCall;
  readonly policy: ActivePolicy | undefined;
  readonly recording: boolean;
  readonly inspection: { readonly dataClasses: readonly string[] };
  reasons?: readonly string[];
  /** What leaves for a model provider: the arguments redacted for `model`. */
  outbound?: Redaction;
  egress?: EgressFinding;
}

export interface OutboundEnv {
  readonly protector: Protector;
  readonly egress?: EgressGuard;
  readonly pseudonyms?: PseudonymVault;
}

/** redact_model: what a model provider receives. A redaction that fails denies the call (nothing unredacted leaves). */
export const redactModelStage = {
  name: 'redact_model',
  run(draft: OutboundDraft, env: OutboundEnv): void {
    if (draft.call.kind !== 'model' || !draft.recording || draft.reasons) return;
    const principal = draft.call.principal;
    try {
      draft.outbound = env.protector.redact(draft.call.arguments, {
        dataClasses: draft.inspection.dataClasses,
        ...redactionScope(draft.call, draft.policy, 'model'),
        ...(env.pseudonyms && principal ? { pseudonym: env.pseudonyms.markerFor(principal) } : {}),
      });
    } catch {
      draft.reasons = [DENY_REASONS.REDACTION_FAILED];
    }
  },
};

/** egress: destinations on the allow-list, public addresses only (unless a rule allows private ones). */
export const egressStage = {
  name: 'egress',
  async run(draft: OutboundDraft, env: OutboundEnv): Promise<void> {
    if (draft.reasons || !draft.policy) return;
    const classification = draft.policy.classifyTool(draft.call.tool);
    const payload = draft.outbound ? draft.outbound.value : draft.call.arguments;
    const { finding, reasons } = await checkEgress(draft.call, classification, draft.policy.egress, env.egress, payload);
    if (finding) draft.egress = finding;
    if (reasons?.length) draft.reasons = reasons;
  },
};
