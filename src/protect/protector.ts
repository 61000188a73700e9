/** The Protector port: classification of what a call touches and redaction of what flows. */
import { CustosError } from '../kernel/index.js';
import type { ClassificationRule, Protector, Redaction, RedactOptions, ToolCall } from '../kernel/index.js';
import { classifyCall } from './classify.js';
import { selectDetectors } from './detectors.js';
import { redactJson } from './redact-json.js';
import { createTextRedactor } from './redact-text.js';
import { redactorForPolicy } from './redaction-policy.js';

export interface ProtectorOptions {
  /** Detector ids or types to enable (see listDetectors()); default: all. Unknown names throw ERR_CONFIG_INVALID. */
  readonly detectors?: readonly string[];
  /** Longest single string inspected (characters); default 16 Mi. */
  readonly maxTextChars?: number;
  /** Most text inspected in one value (characters); default 64 Mi. */
  readonly maxTotalChars?: number;
  /** Each upstream's root directories, by server name: relative paths resolve against the first, and symlinks are followed. */
  readonly roots?: Readonly<Record<string, readonly string[]>>;
}

export function createProtector(options?: ProtectorOptions): Protector {
  const limits = { maxChars: options?.maxTextChars };
  const redactor = createTextRedactor(selectDetectors(options?.detectors), limits);
  return {
    classify(call: Pick<ToolCall, 'tool' | 'arguments' | 'kind'>, rules: readonly ClassificationRule[]): string[] {
      return classifyCall(call, rules, { roots: options?.roots?.[call.tool.server] });
    },
    redact<T>(value: T, redactOptions?: RedactOptions): Redaction<T> {
      try {
        // A bundle's redaction section chooses the detectors for this tool, tier and destination.
        const active = redactOptions?.policy ? redactorForPolicy(redactOptions.policy, redactOptions, limits) : redactor;
        return redactJson(value, active, {
          dataClasses: redactOptions?.dataClasses,
          pseudonym: redactOptions?.pseudonym,
          maxTotalChars: options?.maxTotalChars,
        });
      } catch (err) {
        // Fail closed, and never pass on a message that might quote the payload.
        if (
          err instanceof CustosError &&
          (err.code === 'ERR_PROTECT_FAILED' || err.code === 'ERR_PROTECT_TOO_LARGE' || err.code === 'ERR_POLICY_BUNDLE_INVALID')
        )
          throw err;
        throw new CustosError('ERR_PROTECT_FAILED');
      }
    },
  };
}
