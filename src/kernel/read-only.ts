/**
 * Which calls may be forwarded while their intent row is being made durable (the overlap in
 * `pipeline.run`): a tool call the catalog classes read-only, i.e. every one of its classes
 * is `read` (`catalog.yaml`). A tool with any other class (`writes`, `egress`, `destructive`,
 * `unclassified`), or none, is forwarded only once its intent row is on disk.
 */
import type { CallKind } from './types.js';

/** The catalog class of a tool without side effects. */
export const READ_ONLY_CLASS = 'read';

/** True when the call has no side effects by its catalog classes. */
export function isReadOnlyCall(kind: CallKind, toolClasses: readonly string[]): boolean {
  return kind === 'tool' && toolClasses.length > 0 && toolClasses.every((c) => c === READ_ONLY_CLASS);
}
