/**
 * A one-pass check that a text is valid JSON already in RFC 8785 form, without parsing it into
 * values or serialising anything: no whitespace between tokens, every string escaped exactly as
 * JSON.stringify escapes it, every number in its ECMAScript shortest form, and every object's
 * keys strictly increasing in UTF-16 code-unit order (so no duplicates either).
 *
 * It answers `true` only when the text is certainly canonical; `false` means "not shown
 * here" (rare forms: an escaped key, a surrogate), and the caller then decides with
 * the full canonicaliser. The verifier's chunk check (verify-parallel.ts) takes the fields the
 * chain needs from the same pass, so a clean row is never parsed into values nor re-serialised.
 */

/** Container frames: for an object, where the last key seen stands in the text (keyFrom −1 before the first). */
interface Frame {
  readonly object: boolean;
  keyFrom: number;
  keyTo: number;
}

/**
 * What a one-pass scan of a canonical text gives of its top-level object (all undefined for
 * another value): the members the chain needs, each when it is a string without escapes (or, for
 * `seq`, a number), and where the top-level `,"hash":…` member stands (`hashFrom` at its comma,
 * `hashTo` after its value; −1 when there is none or it comes first).
 */
export interface ChainFields {
  schema?: string;
  seq?: number;
  prev_hash?: string;
  hash?: string;
  event?: string;
  hashFrom: number;
  hashTo: number;
}

/**
 * Builds the scanner. Everything it uses is inside this function, so that its source
 * (`canonicalTextScan.toString()`) also runs in the verifier's worker threads.
 *
 * The scan validates the JSON grammar itself (so a row shown canonical needs no JSON.parse):
 * it answers a `ChainFields` only when the text is certainly valid JSON in RFC 8785 form, and
 * undefined for "not shown here" (invalid JSON, a form that is not canonical, or the rare forms
 * it leaves to the canonicaliser: an escaped key, a surrogate).
 */
export function canonicalTextScan(): (text: string) => ChainFields | undefined {
  const QUOTE = 0x22;
  const SURROGATE_OR_CONTROL = /[\uD800-\uDFFF\u0000-\u001f]/;
  const SHORT_ESCAPES = new Set([0x22, 0x5c, 0x62, 0x66, 0x6e, 0x72, 0x74]); // " \ b f n r t
  /** The members the chain wants, by the length of their name (each length is one name's). */
  const WANTED: Array<string | undefined> = [];
  for (const name of ['schema', 'seq', 'prev_hash', 'hash', 'event']) WANTED[name.length] = name;
  /** Whether text[a0, a1) < text[b0, b1) in UTF-16 code-unit order (as `<` on the two strings), without cutting them out. */
  const before = (text: string, a0: number, a1: number, b0: number, b1: number): boolean => {
    const n = Math.min(a1 - a0, b1 - b0);
    for (let k = 0; k < n; k += 1) {
      const d = text.charCodeAt(a0 + k) - text.charCodeAt(b0 + k);
      if (d !== 0) return d < 0;
    }
    return a1 - a0 < b1 - b0;
  };
  /** - + . 0-9 e E */
  const isNumberChar = (c: number): boolean => (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45;
  // What the scanner expects next.
  const VALUE = 0; // any value
  const FIRST_VALUE = 1; // a value or `]` (just after `[`)
  const KEY = 2; // a key (after `,` in an object)
  const FIRST_KEY = 3; // a key or `}` (just after `{`)
  const AFTER = 4; // `,` or the container's close
  const END = 5; // nothing: the top-level value is complete

  /** Where the next backslash of the text being scanned is (Infinity: none left); looked for again only once passed. */
  let nextEscape = Infinity;
  const escapeFrom = (text: string, from: number): number => {
    const at = text.indexOf('\\', from);
    return at < 0 ? Infinity : at;
  };

  function scan(text: string): ChainFields | undefined {
    // JSON.stringify escapes a lone surrogate (a text with surrogates, emoji too, is left to the canonicaliser); a raw control character is not JSON.
    if (SURROGATE_OR_CONTROL.test(text)) return undefined;
    const out: ChainFields = { hashFrom: -1, hashTo: -1 };
    nextEscape = escapeFrom(text, 0);
    const stack: Frame[] = [];
    const n = text.length;
    let state = VALUE;
    /** The top-level member whose value is being read, when the chain wants it. */
    let capture: string | undefined;
    let i = 0;
    /** A value just ended (before `end`): record it when it is a captured top-level member. */
    const ended = (end: number, value: string | number | undefined): void => {
      if (capture !== undefined && stack.length === 1) {
        (out as unknown as Record<string, unknown>)[capture] = value;
        if (capture === 'hash' && text.charCodeAt(out.hashFrom) === 0x2c) out.hashTo = end;
        else if (capture === 'hash') out.hashFrom = -1;
      }
      capture = undefined;
      state = stack.length === 0 ? END : AFTER;
    };
    while (i < n) {
      const c = text.charCodeAt(i);
      if (state === END) return undefined;
      if (state === AFTER) {
        const top = stack[stack.length - 1]!;
        if (c === 0x2c) state = top.object ? KEY : VALUE;
        else if (c === (top.object ? 0x7d : 0x5d)) {
          stack.pop();
          ended(i + 1, undefined);
        } else return undefined;
        i += 1;
        continue;
      }
      if (state === KEY || state === FIRST_KEY) {
        if (state === FIRST_KEY && c === 0x7d) {
          stack.pop();
          ended(i + 1, undefined);
          i += 1;
          continue;
        }
        if (c !== QUOTE) return undefined;
        if (nextEscape <= i) nextEscape = escapeFrom(text, i + 1);
        const firstEscape = nextEscape; // the first backslash after the key's opening quote
        const end = scanString(text, i + 1);
        if (end < 0) return undefined;
        if (firstEscape < end) return undefined; // an escaped key: let the canonicaliser decide
        const top = stack[stack.length - 1]!;
        if (top.keyFrom >= 0 && !before(text, top.keyFrom, top.keyTo, i + 1, end)) return undefined;
        top.keyFrom = i + 1;
        top.keyTo = end;
        if (stack.length === 1) {
          const name = WANTED[end - i - 1];
          capture = name !== undefined && text.startsWith(name, i + 1) ? name : undefined;
          if (capture === 'hash') out.hashFrom = i - 1;
        }
        if (text.charCodeAt(end + 1) !== 0x3a) return undefined; // the colon, at once
        state = VALUE;
        i = end + 2;
        continue;
      }
      // VALUE or FIRST_VALUE
      if (state === FIRST_VALUE && c === 0x5d) {
        stack.pop();
        ended(i + 1, undefined);
        i += 1;
        continue;
      }
      if (c === QUOTE) {
        const end = scanString(text, i + 1);
        if (end < 0) return undefined;
        const raw = capture === undefined ? undefined : text.slice(i + 1, end); // only a wanted member's value is cut out
        ended(end + 1, raw === undefined || raw.includes('\\') ? undefined : raw);
        i = end + 1;
        continue;
      }
      if (c === 0x7b || c === 0x5b) {
        if (capture !== undefined && stack.length === 1) {
          (out as unknown as Record<string, unknown>)[capture] = undefined; // a container where the chain wants a scalar
          if (capture === 'hash') out.hashFrom = -1;
          capture = undefined;
        }
        stack.push({ object: c === 0x7b, keyFrom: -1, keyTo: -1 });
        state = c === 0x7b ? FIRST_KEY : FIRST_VALUE;
        i += 1;
        continue;
      }
      const literal = c === 0x74 ? 'true' : c === 0x66 ? 'false' : c === 0x6e ? 'null' : undefined;
      if (literal !== undefined) {
        if (!text.startsWith(literal, i)) return undefined;
        ended(i + literal.length, undefined);
        i += literal.length;
        continue;
      }
      if (!isNumberChar(c)) return undefined; // whitespace or anything else
      let j = i + 1;
      while (j < n && isNumberChar(text.charCodeAt(j))) j += 1;
      const token = text.slice(i, j);
      const value = Number(token);
      if (JSON.stringify(value) !== token) return undefined; // not ECMAScript's shortest form (or not a number)
      ended(j, value);
      i = j;
    }
    return state === END ? out : undefined;
  }

  /** From just after an opening quote: the index of the closing quote, or −1 when an escape is not as JSON.stringify writes it. */
  function scanString(text: string, from: number): number {
    let i = from;
    for (;;) {
      const quote = text.indexOf('"', i);
      if (nextEscape < i) nextEscape = escapeFrom(text, i); // remembered: a text without escapes is searched once, not once per string
      const escape = nextEscape;
      if (quote < 0) return -1;
      if (escape > quote) return quote;
      const e = text.charCodeAt(escape + 1);
      if (SHORT_ESCAPES.has(e)) {
        i = escape + 2;
        continue;
      }
      if (e !== 0x75) return -1; // \/ and anything else: not JSON.stringify's
      const hex = text.slice(escape + 2, escape + 6);
      if (!/^[0-9a-f]{4}$/.test(hex)) return -1; // upper-case hex is not JSON.stringify's
      const code = parseInt(hex, 16);
      // Only control characters without a short form are written as \u00xx (escaped surrogates: not shown here).
      if (code >= 0x20 || code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d) return -1;
      i = escape + 6;
    }
  }
  return scan;
}

/** The scan (above) on this thread. */
export const scanCanonicalText = canonicalTextScan();

/** Whether `text` is certainly valid JSON in RFC 8785 form (false: not shown here; the caller asks the canonicaliser). */
export const isCanonicalJsonText = (text: string): boolean => scanCanonicalText(text) !== undefined;
