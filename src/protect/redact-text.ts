/**
 * Runs detectors over a string and replaces each detected span with `[redacted:TYPE]`.
 * Overlapping spans (a JWT inside `TOKEN=…`, a card a phone pattern also sees) merge into
 * one redaction typed by the earliest detector. Existing markers are never re-redacted, so
 * redacting twice finds nothing new.
 */
import { CustosError } from '../kernel/index.js';
import type { DetectorSpec, Span } from './detector.js';
import { DETECTORS } from './detectors.js';

export interface TextRedaction {
  readonly text: string;
  readonly count: number;
  /** Sorted, unique marker types. */
  readonly types: string[];
}

export interface TextRedactOptions {
  /** Data classes of the call; `secret_file` turns on the secret-file detectors. */
  readonly dataClasses?: readonly string[];
}

export interface TextRedactor {
  redact(text: string, options?: TextRedactOptions): TextRedaction;
}

interface CompiledDetector {
  readonly spec: DetectorSpec;
  readonly priority: number;
  readonly secretFileOnly: boolean;
  readonly re: RegExp | undefined;
}

interface Candidate extends Span {
  readonly priority: number;
  readonly type: string;
}

const MARKER = /\[redacted:[A-Za-z0-9_]+\]/g;

export const marker = (type: string): string => `[redacted:${type}]`;

function compile(spec: DetectorSpec, priority: number): CompiledDetector {
  let re: RegExp | undefined;
  if (spec.pattern) {
    let flags = spec.pattern.flags.replace(/[gyd]/g, '') + 'g';
    if (spec.groups) flags += 'd';
    re = new RegExp(spec.pattern.source, flags);
  } else if (!spec.find) {
    throw new CustosError('ERR_CONFIG_INVALID', 'A detector needs a pattern or a find function.', { detail: { detector: spec.name } });
  }
  return { spec, priority, secretFileOnly: spec.scope === 'secret_file', re };
}

function selectSpan(m: RegExpExecArray, groups: readonly number[] | undefined): Span | undefined {
  if (!groups) return { start: m.index, end: m.index + m[0].length };
  for (const g of groups) {
    const range = m.indices?.[g];
    if (range) return { start: range[0], end: range[1] };
  }
  return undefined;
}

function findWithPattern(re: RegExp, spec: DetectorSpec, text: string): Span[] {
  const spans: Span[] = [];
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[0].length === 0) re.lastIndex++;
    if (spec.validate && !spec.validate(m, text)) {
      re.lastIndex = m.index + 1;
      continue;
    }
    const span = selectSpan(m, spec.groups);
    if (span && span.end > span.start) spans.push(span);
  }
  return spans;
}

function runDetector(d: CompiledDetector, text: string, out: Candidate[]): void {
  let spans: Span[];
  try {
    spans = d.re ? findWithPattern(d.re, d.spec, text) : d.spec.find!(text);
  } catch {
    // Neither the text nor the thrown error (its message may quote the text) goes further.
    throw new CustosError('ERR_PROTECT_FAILED', undefined, { detail: { detector: d.spec.name } });
  }
  for (const s of spans) out.push({ start: s.start, end: s.end, priority: d.priority, type: d.spec.type });
}

/** Drops candidates that are nothing but existing markers (and blanks or punctuation around them). */
function dropMarkerOnly(text: string, candidates: Candidate[]): Candidate[] {
  const markers: Span[] = [];
  MARKER.lastIndex = 0;
  for (let m = MARKER.exec(text); m !== null; m = MARKER.exec(text)) markers.push({ start: m.index, end: m.index + m[0].length });
  if (markers.length === 0) return candidates;
  return candidates.filter((c) => {
    let residue = '';
    let pos = c.start;
    for (const mk of markers) {
      if (mk.end <= pos || mk.start >= c.end) continue;
      residue += text.slice(pos, Math.max(pos, mk.start));
      pos = Math.max(pos, mk.end);
    }
    residue += text.slice(pos, Math.max(pos, c.end));
    return /[A-Za-z0-9]/.test(residue);
  });
}

/** Merges overlapping candidates; each merged span takes the type of its highest-priority member. */
function mergeSpans(candidates: Candidate[]): Candidate[] {
  candidates.sort((a, b) => a.start - b.start || a.priority - b.priority);
  const merged: Candidate[] = [];
  for (const c of candidates) {
    const last = merged[merged.length - 1];
    if (last && c.start < last.end) {
      const top = c.priority < last.priority ? c : last;
      merged[merged.length - 1] = { start: last.start, end: Math.max(last.end, c.end), priority: top.priority, type: top.type };
    } else {
      merged.push(c);
    }
  }
  return merged;
}

export function createTextRedactor(specs: readonly DetectorSpec[]): TextRedactor {
  const detectors = specs.map(compile);
  return {
    redact(text: string, options?: TextRedactOptions): TextRedaction {
      const secretFile = options?.dataClasses?.includes('secret_file') ?? false;
      let candidates: Candidate[] = [];
      for (const d of detectors) {
        if (d.secretFileOnly && !secretFile) continue;
        runDetector(d, text, candidates);
      }
      if (candidates.length === 0) return { text, count: 0, types: [] };
      candidates = mergeSpans(dropMarkerOnly(text, candidates));
      const parts: string[] = [];
      const types = new Set<string>();
      let pos = 0;
      for (const c of candidates) {
        parts.push(text.slice(pos, c.start), marker(c.type));
        types.add(c.type);
        pos = c.end;
      }
      parts.push(text.slice(pos));
      return { text: parts.join(''), count: candidates.length, types: [...types].sort() };
    },
  };
}

let defaultRedactor: TextRedactor | undefined;

/** Redacts one string with every built-in detector. */
export function redactText(text: string, options?: TextRedactOptions): TextRedaction {
  defaultRedactor ??= createTextRedactor(DETECTORS);
  return defaultRedactor.redact(text, options);
}
