/**
 * The `before_state` stage (164.312(c)(1)): a write whose catalog entry names a `before`
 * reads its target first, through another tool of the same upstream, right before it is
 * forwarded (after a human confirmed, under the bundle in force then). The redacted
 * before-state and the proposed change (the write's arguments), each with the SHA-256 of the
 * value as it was, go on the result row's `detail`. Fail closed: a read that fails, a tool
 * error, a mapped argument the write lacks, a before-state that cannot be redacted, or no
 * reader wired: the write is not forwarded, and a deny row `before_state_unavailable` says why.
 */
import { isRecord } from './canonical.js';
import { digestJson } from './digest.js';
import { toCustosError } from './errors.js';
import type { ActivePolicy, Protector } from './ports.js';
import { redactionScope } from './redaction-scope.js';
import type { Redaction, ToolCall, ToolRef } from './types.js';

/** The read to make: the tool and its arguments, taken from the write's. */
export interface BeforeStateSource {
  readonly tool: ToolRef;
  readonly arguments: Readonly<Record<string, unknown>>;
}

/** Reads a write's target through the upstream (the app wires the upstream pool); the call is the write, for its user. */
export type BeforeStateReader = (source: BeforeStateSource, call: ToolCall, traceparent?: string) => Promise<unknown>;

/** What the stage found: the rows' `detail`, or why the write is refused. */
export type BeforeState =
  | { readonly ok: true; readonly detail: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly detail: { readonly before_state: { readonly tool: string; readonly error: string } } };

/** The read the bundle asks for before this call, if any. A mapped argument the call lacks is kept as undefined (the read is refused). */
export function beforeSourceOf(policy: ActivePolicy | undefined, call: ToolCall, dataClasses: readonly string[]): BeforeStateSource | undefined {
  if (call.kind !== 'tool') return undefined;
  const spec = policy?.beforeStateOf?.(call.tool);
  if (!spec) return undefined;
  if (spec.dataClasses && !spec.dataClasses.some((c) => dataClasses.includes(c))) return undefined;
  const slash = spec.tool.indexOf('/');
  const args = isRecord(call.arguments) ? call.arguments : {};
  return {
    tool: { server: spec.tool.slice(0, slash), name: spec.tool.slice(slash + 1) },
    arguments: Object.fromEntries(Object.entries(spec.arguments).map(([target, from]) => [target, args[from]])),
  };
}

/** Reads and redacts the before-state; never throws. */
export async function readBeforeState(
  reader: BeforeStateReader | undefined,
  source: BeforeStateSource,
  auth: { readonly call: ToolCall; readonly dataClasses: readonly string[]; readonly redactedArguments: Redaction; readonly traceparent?: string },
  protector: Protector,
  policy: ActivePolicy | undefined,
): Promise<BeforeState> {
  const tool = `${source.tool.server}/${source.tool.name}`;
  const refuse = (error: string): BeforeState => ({ ok: false, detail: { before_state: { tool, error } } });
  if (!reader) return refuse('no_reader');
  if (Object.values(source.arguments).some((v) => v === undefined)) return refuse('argument_missing');
  let value: unknown;
  try {
    value = await reader(source, auth.call, auth.traceparent);
  } catch (err) {
    return refuse(toCustosError(err, 'ERR_GATEWAY_UPSTREAM_FAILED').code);
  }
  if (isRecord(value) && value.isError === true) return refuse('tool_error');
  let redacted: Redaction;
  try {
    redacted = protector.redact(value, { dataClasses: auth.dataClasses, ...redactionScope(auth.call, policy, 'audit') });
  } catch {
    return refuse('ERR_PROTECT_FAILED');
  }
  return {
    ok: true,
    detail: {
      before_state: { tool, redacted: redacted.value, sha256: digestJson(value) },
      change: { redacted: auth.redactedArguments.value, sha256: digestJson(auth.call.arguments) },
    },
  };
}
