/** The Protector port: classification of what a call touches and redaction of what flows. */
import { CustosError } from '../kernel/index.js';
import type { ClassificationRule, Protector, Redaction, RedactOptions, ToolCall } from '../kernel/index.js';
import { classifyCall } from './classify.js';
import { selectDetectors } from './detectors.js';
import { redactJson } from './redact-json.js';
import { createTextRedactor } from './redact-text.js';

export interface ProtectorOptions {
  /** Detector names or types to enable (see listDetectors()); default: all. Unknown names throw ERR_CONFIG_INVALID. */
  readonly detectors?: readonly string[];
}

export function createProtector(options?: ProtectorOptions): Protector {
  const redactor = createTextRedactor(selectDetectors(options?.detectors));
  return {
    classify(call: Pick<ToolCall, 'tool' | 'arguments' | 'kind'>, rules: readonly ClassificationRule[]): string[] {
      return classifyCall(call, rules);
    },
    redact<T>(value: T, redactOptions?: RedactOptions): Redaction<T> {
      try {
        return redactJson(value, redactor, redactOptions);
      } catch (err) {
        // Fail closed, and never pass on a message that might quote the payload.
        if (err instanceof CustosError && err.code === 'ERR_PROTECT_FAILED') throw err;
        throw new CustosError('ERR_PROTECT_FAILED');
      }
    },
  };
}
