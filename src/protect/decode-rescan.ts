/**
 * Encoded text is decoded and scanned again: a base64 run that decodes to readable UTF-8 text, or
 * a percent-encoded run, can hide a secret or an identifier from the detectors. A run whose
 * decoded text holds something is replaced: base64 by the marker of what it held, percent-
 * encoding by its redacted decoded text. Binary base64 (images, archives) is left alone.
 */
import { isUtf8 } from 'node:buffer';
import type { TextRedaction } from './redact-text.js';
import { marker } from './redact-text.js';

export type RedactString = (text: string) => TextRedaction;

const BASE64_RUN = /(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{24,65536}={0,2}(?![A-Za-z0-9+/=_-])/g;
const PERCENT_RUN = /(?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]{0,256}%[0-9A-Fa-f]{2}){2,4096}[A-Za-z0-9._~!$&'()*+,;=:@/?-]{0,256}/g;
/** Used only on bytes isUtf8 accepted, so it never substitutes; a leading BOM is dropped as with `fatal`. */
const decoder = new TextDecoder('utf-8');

/** Decoded base64 as text, when it is readable UTF-8 (no control characters but blanks); else undefined. */
export function decodeBase64Text(run: string): string | undefined {
  if (!/[0-9]/.test(run) && !/[+/]/.test(run) && run.length < 40) return undefined; // a long word, not an encoding
  const bytes = Buffer.from(run.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (bytes.length < 12) return undefined;
  // Checked, not caught: most runs are ids and hashes whose bytes are not UTF-8, and a thrown error costs far more than the check.
  if (!isUtf8(bytes)) return undefined;
  const text = decoder.decode(bytes);
  return /[\u0000-\u0008\u000e-\u001f\u007f\ufffd]/.test(text) ? undefined : text;
}

function decodePercent(run: string): string | undefined {
  try {
    return decodeURIComponent(run);
  } catch {
    return undefined;
  }
}

export interface Rescan {
  readonly text: string;
  readonly findings: readonly TextRedaction[];
}

/** Rescans the encoded runs of an (already redacted) text; returns the new text and what each decoded run held. */
export function rescanEncoded(text: string, redact: RedactString): Rescan {
  const findings: TextRedaction[] = [];
  let out = text;
  if (out.length >= 24) {
    out = out.replace(BASE64_RUN, (run) => {
      const decoded = decodeBase64Text(run);
      if (decoded === undefined) return run;
      const r = redact(decoded);
      if (r.count === 0) return run;
      findings.push(r);
      return marker(r.types[0]!);
    });
  }
  if (out.includes('%')) {
    out = out.replace(PERCENT_RUN, (run) => {
      const decoded = decodePercent(run);
      if (decoded === undefined || decoded === run) return run;
      const r = redact(decoded);
      if (r.count === 0) return run;
      findings.push(r);
      return r.text;
    });
  }
  return { text: out, findings };
}
