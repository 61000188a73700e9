/**
 * A one-pass check that a JSON text (which JSON.parse accepted) is already in RFC 8785 form,
 * without serialising anything: no whitespace between tokens, every string escaped exactly as
 * JSON.stringify escapes it, every number in its ECMAScript shortest form, and every object's
 * keys strictly increasing in UTF-16 code-unit order (so no duplicates either).
 *
 * It answers `true` only when the text is certainly canonical; `false` means "not shown
 * here" (rare forms: an escaped key, a surrogate), and the caller then decides with
 * the full canonicaliser. The verifier uses it so that a row is parsed once and never
 * re-serialised.
 */

/** Container frames: for an object, the last key seen (undefined before the first). */
interface Frame {
  readonly object: boolean;
  lastKey: string | undefined;
  expectKey: boolean;
}

/**
 * Builds the check. Everything it uses is inside this function, so that its source
 * (`canonicalTextCheck.toString()`) also runs in the verifier's worker threads.
 */
export function canonicalTextCheck(): (text: string) => boolean {
  const QUOTE = 0x22;
  const SURROGATE = /[\uD800-\uDFFF]/;
  const SHORT_ESCAPES = new Set([0x22, 0x5c, 0x62, 0x66, 0x6e, 0x72, 0x74]); // " \ b f n r t
  /** - + . 0-9 e E */
  const isNumberChar = (c: number): boolean => (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45;

  function isCanonicalJsonText(text: string): boolean {
    // JSON.stringify escapes a lone surrogate: a text with surrogates (emoji too) is left to the canonicaliser.
    if (SURROGATE.test(text)) return false;
    const stack: Frame[] = [];
    const n = text.length;
    let i = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) {
        const end = scanString(text, i + 1);
        if (end < 0) return false;
        const top = stack[stack.length - 1];
        if (top?.object && top.expectKey) {
          const key = text.slice(i + 1, end);
          if (key.includes('\\')) return false; // an escaped key: let the canonicaliser decide
          if (top.lastKey !== undefined && !(top.lastKey < key)) return false;
          top.lastKey = key;
          top.expectKey = false;
        }
        i = end + 1;
        continue;
      }
      switch (c) {
        case 0x7b: // {
          stack.push({ object: true, lastKey: undefined, expectKey: true });
          break;
        case 0x5b: // [
          stack.push({ object: false, lastKey: undefined, expectKey: false });
          break;
        case 0x7d: // }
        case 0x5d: // ]
          stack.pop();
          break;
        case 0x2c: {
          // ,
          const top = stack[stack.length - 1];
          if (top?.object) top.expectKey = true;
          break;
        }
        case 0x3a: // :
          break;
        case 0x74: // true
        case 0x66: // false
        case 0x6e: // null
          i += c === 0x66 ? 5 : 4;
          continue;
        default: {
          if (!isNumberChar(c)) return false; // whitespace or anything else
          let j = i + 1;
          while (j < n && isNumberChar(text.charCodeAt(j))) j += 1;
          const token = text.slice(i, j);
          if (JSON.stringify(Number(token)) !== token) return false;
          i = j;
          continue;
        }
      }
      i += 1;
    }
    return stack.length === 0;
  }

  /** From just after an opening quote: the index of the closing quote, or −1 when an escape is not as JSON.stringify writes it. */
  function scanString(text: string, from: number): number {
    let i = from;
    for (;;) {
      const quote = text.indexOf('"', i);
      const escape = text.indexOf('\\', i);
      if (quote < 0) return -1;
      if (escape < 0 || escape > quote) return quote;
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
  return isCanonicalJsonText;
}

export const isCanonicalJsonText = canonicalTextCheck();
