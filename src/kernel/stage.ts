/**
 * What a decision stage sees: the draft of one governed action, the environment, and the
 * helper for stages that decide. Its own file so that stages in files of their own
 * (stage-*.ts) and pipeline-stages.ts share it without an import cycle.
 */
import type { DenyReason } from './deny-reasons.js';
import type { EmergencyPort } from './identity-ports.js';
import type { LimitExceeded, InputLimits } from './limits.js';
import type { ActivePolicy, CallGuard, CallScopes, DecisionInput, PolicyAction, Protector, RateCounter } from './ports.js';
import type { EgressFinding, EgressGuard } from './egress.js';
import type { PseudonymVault } from './egress-stage.js';
import type { Decision, Redaction, ToolCall } from './types.js';

/** An alert a stage raises; written after the decision row (only when the draft is recorded). */
export interface RaisedAlert {
  readonly type: string;
  readonly severity: 'low' | 'medium' | 'high';
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface Inspection {
  readonly dataClasses: readonly string[];
  readonly toolClasses: readonly string[];
  readonly tenants: { readonly named: readonly string[]; readonly foreign: readonly string[] };
  /** The classifier's own budget ran out: the call cannot be classified whole. */
  readonly exceeded?: LimitExceeded;
  readonly failed?: boolean;
}

export interface DraftOptions {
  /** Reasons the front door found before the pipeline (e.g. arguments that break the tool's schema). */
  readonly deny?: readonly DenyReason[];
  /** The limit a front door found the request past (goes on the row's `detail`). */
  readonly exceeded?: LimitExceeded;
}

/** One governed action on its way through the decision stages. */
export interface Draft {
  call: ToolCall;
  readonly options: DraftOptions;
  readonly action: PolicyAction;
  readonly policy: ActivePolicy | undefined;
  /** A bundle in shadow mode beside the enforced one, when there is one. */
  readonly shadow?: ActivePolicy;
  /** False when only evaluating (list filtering): no rows, no alerts. */
  readonly recording: boolean;
  argumentsExceeded?: LimitExceeded;
  inspection: Inspection;
  /** Set by the first stage that denies. */
  reasons?: readonly string[];
  decision?: Decision;
  /** The caller's scopes (the `scopes` stage). */
  scopes?: CallScopes;
  /** What Cedar was asked (the `decide` stage): recorded on the row so a bundle change can be replayed. */
  input?: DecisionInput;
  /** Non-sensitive facts a stage adds to the decision row's `detail` (e.g. which rate limit). */
  detail?: Record<string, unknown>;
  redactedArguments?: Redaction;
  /** A model call's body as it leaves (redact_model). */
  outbound?: Redaction;
  /** The destinations the call sends data to and the hash of what leaves (egress). */
  egress?: EgressFinding;
  /** Alerts to write after the decision row. */
  readonly alerts: RaisedAlert[];
  /** Times each stage (metrics, traces) when the call is observed. */
  readonly observe?: (stage: string, startMs: number, endMs: number) => void;
}

export interface StageEnv {
  readonly protector: Protector;
  readonly limits: InputLimits;
  readonly emergency?: Pick<EmergencyPort, 'activeGrant'>;
  /** Checks the destinations of egress calls (absent: a call that may egress is denied). */
  readonly egress?: EgressGuard;
  /** Reversible pseudonyms of the model leg (absent: irreversible markers). */
  readonly pseudonyms?: PseudonymVault;
  /** Kill switches and tool-definition drift (the monitor); absent: those stages pass. */
  readonly guard?: CallGuard;
  /** Shared counters of the bundle's rate limits (the store). */
  readonly rateCounter?: RateCounter;
  /** Injected time (rate-limit windows). */
  readonly now: () => Date;
  /** Writes an alert at once (break-glass use is recorded before the call's own row). */
  readonly alertNow: (draft: Draft, alert: RaisedAlert & { readonly decision: 'allow' | 'deny' }) => Promise<void>;
}

export interface Stage {
  readonly name: string;
  run(draft: Draft, env: StageEnv): void | Promise<void>;
}

/** A stage that decides: skipped once an earlier stage denied. */
export function decisive(name: string, run: (draft: Draft, env: StageEnv) => readonly string[] | undefined | Promise<readonly string[] | undefined>): Stage {
  return {
    name,
    async run(draft, env) {
      if (draft.reasons) return;
      const reasons = await run(draft, env);
      if (reasons?.length) draft.reasons = reasons;
    },
  };
}
