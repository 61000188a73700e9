/**
 * The single-pass keyword prefilter: an Aho–Corasick automaton over every detector's keywords
 * (ASCII, case-folded). One pass over the text gives, per keyword, where it occurs (for
 * detectors anchored at their keyword) or whether it occurs (for gated ones); detectors then
 * run only there. A keyword marked `wordStart` only counts where no letter, digit or `_` precedes it.
 *
 * The goto table is dense over character classes (each character that occurs in a keyword, case
 * folded, is a class; every other character is class 0), so it stays small enough for the cache.
 * A transition into a state with outputs is stored bit-inverted, so the inner loop tests one sign.
 */

export interface KeywordSpec {
  readonly text: string;
  /** Where it occurs: every start (anchored detectors), the first start on each line (line detectors), or only whether it occurs. */
  readonly positions: 'all' | 'line' | 'none';
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

const isWordChar = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;

interface Automaton {
  /** Character code → class (0: no keyword has it). */
  readonly classOf: Uint8Array;
  /** state × classes + class → next state × classes, bit-inverted (`~`) when that state has outputs. */
  readonly table: Int32Array;
  readonly classes: number;
  /** Keyword indices ending at each state. */
  readonly outputs: readonly (readonly number[])[];
}

function buildAutomaton(keywords: readonly string[]): Automaton {
  const classOf = new Uint8Array(65536);
  let classes = 1;
  for (const kw of keywords) {
    for (let i = 0; i < kw.length; i++) {
      const c = kw.charCodeAt(i);
      if (c >= 128) throw new Error(`prefilter keywords are ASCII: ${JSON.stringify(kw)}`);
      if (classOf[c] !== 0) continue;
      const lower = c >= 65 && c <= 90 ? c + 32 : c;
      const upper = c >= 97 && c <= 122 ? c - 32 : c;
      classOf[lower] = classOf[upper] = classes++;
    }
  }
  if (classes > 255) throw new Error('prefilter: too many distinct keyword characters');
  const next: Int32Array[] = [new Int32Array(classes).fill(-1)];
  const out: number[][] = [[]];
  keywords.forEach((kw, k) => {
    if (kw === '') return; // looked up another way
    let s = 0;
    for (let i = 0; i < kw.length; i++) {
      const c = classOf[kw.charCodeAt(i)]!;
      if (next[s]![c] === -1) {
        next[s]![c] = next.length;
        next.push(new Int32Array(classes).fill(-1));
        out.push([]);
      }
      s = next[s]![c]!;
    }
    out[s]!.push(k);
  });
  const fail = new Int32Array(next.length);
  const queue: number[] = [];
  for (let c = 0; c < classes; c++) {
    const s = next[0]![c]!;
    if (s === -1) next[0]![c] = 0;
    else queue.push(s);
  }
  for (let head = 0; head < queue.length; head++) {
    const r = queue[head]!;
    for (let c = 0; c < classes; c++) {
      const s = next[r]![c]!;
      if (s === -1) {
        next[r]![c] = next[fail[r]!]![c]!;
        continue;
      }
      queue.push(s);
      fail[s] = next[fail[r]!]![c]!;
      out[s]!.push(...out[fail[s]!]!);
    }
  }
  const table = new Int32Array(next.length * classes);
  next.forEach((row, s) => {
    for (let c = 0; c < classes; c++) {
      const t = row[c]!;
      table[s * classes + c] = out[t]!.length > 0 ? ~(t * classes) : t * classes;
    }
  });
  return { classOf, table, classes, outputs: out };
}

/**
 * Builds the automaton once; `scan` is then one table step per character. A gate keyword
 * without letters (`@`, `:`, `+`, `"`) is left out of the automaton and looked up with one native
 * `includes` instead: such characters are frequent, and a hit costs the scan more than a step.
 */
export function createPrefilter(keywords: readonly KeywordSpec[]): Prefilter {
  const literal = keywords.map((k) => k.positions === 'none' && !/[A-Za-z]/.test(k.text));
  const literals = keywords.flatMap((k, i) => (literal[i] ? [i] : []));
  const { classOf, table, classes, outputs } = buildAutomaton(keywords.map((k, i) => (literal[i] ? '' : k.text)));
  // The outputs flattened: state s's keywords are outList[outStart[s]] up to outList[outStart[s + 1]].
  const outStart = new Int32Array(outputs.length + 1);
  outputs.forEach((o, state) => (outStart[state + 1] = outStart[state]! + o.length));
  const outList = Int32Array.from(outputs.flat());
  const lengths = keywords.map((k) => k.text.length);
  const positional = keywords.map((k) => k.positions !== 'none');
  const perLine = keywords.map((k) => k.positions === 'line');
  const wordStart = keywords.map((k) => k.wordStart);

  return {
    scan(text: string): KeywordHits {
      const positions: (number[] | undefined)[] = new Array<number[] | undefined>(keywords.length);
      const seen = new Uint8Array(keywords.length);
      const found: number[] = [];
      let lineStart = 0;
      let scanned = 0; // line breaks before this offset are accounted for in lineStart
      let s = 0; // state × classes
      for (let i = 0; i < text.length; i++) {
        s = table[s + classOf[text.charCodeAt(i)]!]!;
        if (s >= 0) continue;
        s = ~s;
        const state = s / classes;
        for (let o = outStart[state]!; o < outStart[state + 1]!; o++) {
          const k = outList[o]!;
          const start = i - lengths[k]! + 1;
          if (wordStart[k] && start > 0 && isWordChar(text.charCodeAt(start - 1))) continue;
          if (seen[k] === 0) {
            seen[k] = 1;
            found.push(k);
          }
          if (!positional[k]) continue;
          const at = (positions[k] ??= []);
          if (!perLine[k]) {
            at.push(start);
            continue;
          }
          // The line's start, found lazily (only line keywords need it): each character is looked at once.
          for (; scanned < i; scanned++) if (text.charCodeAt(scanned) === 10) lineStart = scanned + 1;
          if (at.length === 0 || at[at.length - 1]! < lineStart) at.push(start);
        }
      }
      for (const k of literals) {
        if (text.includes(keywords[k]!.text)) {
          seen[k] = 1;
          found.push(k);
        }
      }
      return { positions, seen, found };
    },
  };
}
