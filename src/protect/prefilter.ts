/**
 * The single-pass keyword prefilter: an Aho–Corasick automaton over every detector's keywords
 * (ASCII, case-folded). One pass over the text gives, per keyword, where it occurs (for
 * detectors anchored at their keyword) or whether it occurs (for gated ones); detectors then
 * run only there. A keyword marked `wordStart` only counts where no letter, digit or `_` precedes it.
 */

const ALPHABET = 128; // states are stored pre-multiplied: state × 128, so `s >>> 7` is the state number

export interface KeywordSpec {
  readonly text: string;
  /** Record where it occurs (anchored detectors); otherwise only whether it occurs. */
  readonly positions: boolean;
  /** Only at the start of a word. */
  readonly wordStart: boolean;
}

export interface KeywordHits {
  /** Start offsets of each positional keyword's occurrences (undefined when none, or not positional). */
  readonly positions: readonly (readonly number[] | undefined)[];
  /** 1 where the keyword occurred at least once. */
  readonly seen: Uint8Array;
  /** Indices of the keywords that occurred. */
  readonly found: readonly number[];
}

export interface Prefilter {
  scan(text: string): KeywordHits;
}

/** ASCII case folding; anything outside ASCII becomes NUL (keywords are ASCII). */
function fold(c: number): number {
  if (c >= 65 && c <= 90) return c + 32;
  return c < ALPHABET ? c : 0;
}

const isWordChar = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;

interface Automaton {
  readonly table: Int32Array;
  readonly outputs: readonly (readonly number[])[];
}

function buildAutomaton(keywords: readonly string[]): Automaton {
  const next: number[][] = [new Array<number>(ALPHABET).fill(-1)];
  const outputs: number[][] = [[]];
  keywords.forEach((kw, k) => {
    let s = 0;
    for (let i = 0; i < kw.length; i++) {
      const c = fold(kw.charCodeAt(i));
      if (next[s]![c] === -1) {
        next[s]![c] = next.length;
        next.push(new Array<number>(ALPHABET).fill(-1));
        outputs.push([]);
      }
      s = next[s]![c]!;
    }
    outputs[s]!.push(k);
  });
  const fail = new Array<number>(next.length).fill(0);
  const queue: number[] = [];
  for (let c = 0; c < ALPHABET; c++) {
    const s = next[0]![c]!;
    if (s === -1) next[0]![c] = 0;
    else queue.push(s);
  }
  for (let head = 0; head < queue.length; head++) {
    const r = queue[head]!;
    for (let c = 0; c < ALPHABET; c++) {
      const s = next[r]![c]!;
      if (s === -1) {
        next[r]![c] = next[fail[r]!]![c]!;
        continue;
      }
      queue.push(s);
      fail[s] = next[fail[r]!]![c]!;
      outputs[s]!.push(...outputs[fail[s]!]!);
    }
  }
  const table = new Int32Array(next.length * ALPHABET);
  next.forEach((row, s) =>
    table.set(
      row.map((t) => t * ALPHABET),
      s * ALPHABET,
    ),
  );
  return { table, outputs };
}

/** Builds the automaton: a dense goto table (states × 128) with failure links folded in. */
export function createPrefilter(keywords: readonly KeywordSpec[]): Prefilter {
  const { table, outputs } = buildAutomaton(keywords.map((k) => k.text));
  const stateCount = table.length / ALPHABET;
  const hasOutput = new Uint8Array(stateCount).map((_, s) => (outputs[s]!.length > 0 ? 1 : 0));
  const lengths = keywords.map((k) => k.text.length);
  const positional = keywords.map((k) => k.positions);
  const wordStart = keywords.map((k) => k.wordStart);

  return {
    scan(text: string): KeywordHits {
      const positions: (number[] | undefined)[] = new Array<number[] | undefined>(keywords.length);
      const seen = new Uint8Array(keywords.length);
      const found: number[] = [];
      let s = 0; // state × ALPHABET
      for (let i = 0; i < text.length; i++) {
        let c = text.charCodeAt(i);
        if (c >= 65 && c <= 90) c += 32;
        else if (c >= ALPHABET) c = 0;
        s = table[s + c]!;
        if (hasOutput[s >>> 7] === 0) continue;
        for (const k of outputs[s >>> 7]!) {
          const start = i - lengths[k]! + 1;
          if (wordStart[k] && start > 0 && isWordChar(text.charCodeAt(start - 1))) continue;
          if (seen[k] === 0) {
            seen[k] = 1;
            found.push(k);
          }
          if (positional[k]) (positions[k] ??= []).push(start);
        }
      }
      return { positions, seen, found };
    },
  };
}
