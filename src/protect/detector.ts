/** The shape of a detector: data (a pattern, the span to redact, a validator), not code paths. */

/** A half-open range [start, end) of a string to replace with a marker. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/** When a detector runs: always, or only on output of a call classed `secret_file`. */
export type DetectorScope = 'always' | 'secret_file';

export interface DetectorSpec {
  /** Stable name (kebab-case), used to enable detectors and in docs. */
  readonly name: string;
  /** Marker type: the `TYPE` in `[redacted:TYPE]`. */
  readonly type: string;
  readonly description: string;
  readonly scope?: DetectorScope;
  /** Searched globally; compiled once (flags `g` and, when `groups` is set, `d` are added). */
  readonly pattern?: RegExp;
  /** Capture groups that hold the span to redact; the first one that matched wins. Default: the whole match. */
  readonly groups?: readonly number[];
  /** Rejects a candidate match (e.g. a failed Luhn check); the search resumes one character later. */
  readonly validate?: (match: RegExpExecArray, text: string) => boolean;
  /** For detectors a single pattern cannot express: returns the spans itself. */
  readonly find?: (text: string) => Span[];
}

/** What docs and the CLI show about a detector. */
export interface DetectorInfo {
  readonly name: string;
  readonly type: string;
  readonly description: string;
  readonly scope: DetectorScope;
}
