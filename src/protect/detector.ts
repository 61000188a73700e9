/** The shape of a detector: data (keywords, a pattern, the span to redact, a validator), not code paths. */

/** A half-open range [start, end) of a string to replace with a marker. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/** Ascending offsets into a text (an array or a typed array). */
export type Offsets = ArrayLike<number> & Iterable<number>;

/** When a detector runs: always, or only on output of a call classed `secret_file`. */
export type DetectorScope = 'always' | 'secret_file';

/**
 * What a detector's decision rests on, which sets the quality bar the corpus test holds it to:
 * `checksum` (a check digit or CRC), `prefix` (a vendor prefix and a fixed shape), `context`
 * (a label or keyword next to the value), `structure` (a shape alone, e.g. an e-mail address).
 */
export type DetectorBasis = 'checksum' | 'prefix' | 'context' | 'structure';

/** A known answer: the text, and the part of it that must not survive (default: all of it). */
export type Example = string | readonly [text: string, secret: string];

export interface DetectorSpec {
  /** Stable id (kebab-case), used to enable detectors, in docs and in the audit row's `redactions.rules`. */
  readonly id: string;
  /** Marker type: the `TYPE` in `[redacted:TYPE]`. */
  readonly type: string;
  readonly description: string;
  readonly basis: DetectorBasis;
  readonly scope?: DetectorScope;
  /**
   * Lower-case ASCII literals for the single-pass prefilter: the detector only runs where one
   * occurs. Absent: the detector runs on every text (digit shapes such as cards and SSNs).
   */
  readonly keywords?: readonly string[];
  /**
   * With keywords: `anchor` (default) runs the pattern sticky at each keyword hit, `offset`
   * characters before it; `gate` runs it (or `find`) over the whole text once any keyword occurs;
   * `line` runs it (or `find`) on each line that holds a keyword — only for detectors whose
   * matches never cross a line break and always share their line with a keyword, and whose
   * lookarounds and validator read nothing past the line (a line break and the end of the
   * text must be the same to them).
   */
  readonly mode?: 'anchor' | 'gate' | 'line';
  readonly offset?: number;
  /** Compiled once (flags `g`/`y` and, when `groups` is set, `d` are added). Bounded quantifiers only. */
  readonly pattern?: RegExp;
  /** Capture groups that hold the span to redact; the first one that matched wins. Default: the whole match. */
  readonly groups?: readonly number[];
  /** Rejects a candidate match (a failed checksum, a placeholder); the search resumes one character later. */
  readonly validate?: (match: RegExpExecArray, text: string) => boolean;
  /**
   * For detectors a single pattern cannot express: returns the spans itself (must be linear in the
   * text). With `mode: 'anchor'` it is given the ascending start offsets of its keywords and looks
   * only around them; otherwise a finder with keywords is gated (or runs per line with `line`).
   */
  readonly find?: (text: string, keywordStarts?: Offsets) => Span[];
  /** Test vectors: positives must be redacted, negatives must come back unchanged from the whole registry. */
  readonly examples: { readonly positive: readonly Example[]; readonly negative: readonly string[] };
}

/** What docs and the CLI show about a detector. */
export interface DetectorInfo {
  readonly name: string;
  readonly type: string;
  readonly marker: string;
  readonly basis: DetectorBasis;
  readonly description: string;
  readonly scope: DetectorScope;
}
