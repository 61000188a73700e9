/**
 * Runs detectors over a string and replaces each detected span with `[redacted:TYPE]`.
 * One prefilter pass finds every keyword; anchored detectors run a sticky pattern at each hit,
 * gated ones only when a keyword occurred, the few keyword-less ones (digit shapes) always.
 * Overlapping spans merge into one redaction typed by the earliest detector. Existing markers
 * are never re-redacted, so redacting twice finds nothing new. Allow-listed values are kept.
 */
import { CustosError } from '../kernel/index.js';
import type { DetectorSpec, Span } from './detector.js';
import { DETECTORS } from './detectors.js';
import { createPrefilter } from './prefilter.js';
import type { KeywordHits } from './prefilter.js';

/** How many times each rule fired in one text or value. */
export interface RuleCount {
  readonly rule: string;
  readonly type: string;
  readonly count: number;
}

export interface TextRedaction {
  readonly text: string;
  readonly count: number;
  /** Sorted, unique marker types. */
  readonly types: string[];
  /** Which detector (rule) produced each redaction, sorted by rule id. */
  readonly rules?: RuleCount[];
  /** Detected values kept because the bundle allow-lists them. */
  readonly allowed?: number;
}

export interface TextRedactOptions {
  /** Data classes of the call; `secret_file` turns on the secret-file detectors. */
  readonly dataClasses?: readonly string[];
  /** Makes the marker of a detected value (default `[redacted:TYPE]`); the model leg's reversible pseudonyms. */
  readonly pseudonym?: (type: string, original: string) => string;
}

export interface TextRedactor {
  redact(text: string, options?: TextRedactOptions): TextRedaction;
  /** Marker types of the enabled detectors. */
  readonly types: ReadonlySet<string>;
  /** Is this value allow-listed? */
  isAllowed(value: string): boolean;
}

export interface TextRedactorOptions {
  /** Values never redacted (compared after trimming), e.g. a published support number. */
  readonly allow?: readonly string[];
  /** Longest string inspected, in UTF-16 code units (default 16 Mi); longer throws ERR_PROTECT_TOO_LARGE. */
  readonly maxChars?: number;
}

export const DEFAULT_MAX_TEXT_CHARS = 16 * 1024 * 1024;

interface CompiledDetector {
  readonly spec: DetectorSpec;
  readonly priority: number;
  readonly secretFileOnly: boolean;
  readonly re: RegExp | undefined;
  readonly mode: 'anchor' | 'gate' | 'always';
  /** Indices into the prefilter's keyword list. */
  readonly keywordIds: readonly number[];
}

interface Candidate extends Span {
  readonly priority: number;
  readonly type: string;
  readonly rule: string;
}

const MARKER = /\[redacted:[A-Za-z0-9_#]+\]/g;

export const marker = (type: string): string => `[redacted:${type}]`;

interface KeywordEntry {
  readonly index: number;
  positions: boolean;
  wordStart: boolean;
}

function modeOf(spec: DetectorSpec): CompiledDetector['mode'] {
  return !spec.keywords?.length ? 'always' : spec.find ? 'gate' : (spec.mode ?? 'anchor');
}

function compile(spec: DetectorSpec, priority: number, keywordIndex: Map<string, KeywordEntry>): CompiledDetector {
  const mode = modeOf(spec);
  let re: RegExp | undefined;
  if (spec.pattern) {
    let flags = spec.pattern.flags.replace(/[gyd]/g, '') + (mode === 'anchor' ? 'y' : 'g');
    if (spec.groups) flags += 'd';
    re = new RegExp(spec.pattern.source, flags);
  } else if (!spec.find) {
    throw new CustosError('ERR_CONFIG_INVALID', 'A detector needs a pattern or a find function.', { detail: { detector: spec.id } });
  }
  // A keyword records positions when an anchored detector uses it; one that starts with a letter
  // or digit counts only at a word start when every detector using it is anchored right at it.
  const atWordStart = mode === 'anchor' && (spec.offset ?? 0) === 0;
  const keywordIds = (spec.keywords ?? []).map((k) => {
    const key = k.toLowerCase();
    let entry = keywordIndex.get(key);
    if (!entry) {
      entry = { index: keywordIndex.size, positions: false, wordStart: /^[a-z0-9_]/.test(key) };
      keywordIndex.set(key, entry);
    }
    entry.positions ||= mode === 'anchor';
    entry.wordStart &&= atWordStart;
    return entry.index;
  });
  return { spec, priority, secretFileOnly: spec.scope === 'secret_file', re, mode, keywordIds };
}

function selectSpan(m: RegExpExecArray, groups: readonly number[] | undefined): Span | undefined {
  if (!groups) return { start: m.index, end: m.index + m[0].length };
  for (const g of groups) {
    const range = m.indices?.[g];
    if (range) return { start: range[0], end: range[1] };
  }
  return undefined;
}

function findWithPattern(re: RegExp, spec: DetectorSpec, text: string, spans: Span[]): void {
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
}

/** Runs a sticky pattern at each keyword hit (minus the detector's offset); hits inside a found match are skipped. */
function findAtHits(d: CompiledDetector, text: string, hits: KeywordHits, spans: Span[]): void {
  const starts =
    d.keywordIds.length === 1
      ? (hits.positions[d.keywordIds[0]!] ?? [])
      : [...new Set(d.keywordIds.flatMap((k) => hits.positions[k] ?? []))].sort((a, b) => a - b);
  const re = d.re!;
  const offset = d.spec.offset ?? 0;
  let covered = -1;
  for (const hit of starts) {
    const start = hit - offset;
    if (start < 0 || start < covered) continue;
    re.lastIndex = start;
    const m = re.exec(text);
    if (!m || (d.spec.validate && !d.spec.validate(m, text))) continue;
    const span = selectSpan(m, d.spec.groups);
    if (span && span.end > span.start) spans.push(span);
    covered = m.index + m[0].length;
  }
}

function runDetector(d: CompiledDetector, text: string, hits: KeywordHits, out: Candidate[]): void {
  const spans: Span[] = [];
  try {
    if (d.mode === 'anchor') findAtHits(d, text, hits, spans);
    else if (d.re) findWithPattern(d.re, d.spec, text, spans);
    else spans.push(...d.spec.find!(text));
  } catch {
    // Neither the text nor the thrown error (its message may quote the text) goes further.
    throw new CustosError('ERR_PROTECT_FAILED', undefined, { detail: { detector: d.spec.id } });
  }
  for (const s of spans) out.push({ start: s.start, end: s.end, priority: d.priority, type: d.spec.type, rule: d.spec.id });
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

/** Merges overlapping candidates; each merged span takes the type and rule of its highest-priority member. */
function mergeSpans(candidates: Candidate[]): Candidate[] {
  candidates.sort((a, b) => a.start - b.start || a.priority - b.priority);
  const merged: Candidate[] = [];
  for (const c of candidates) {
    const last = merged[merged.length - 1];
    if (last && c.start < last.end) {
      const top = c.priority < last.priority ? c : last;
      merged[merged.length - 1] = { start: last.start, end: Math.max(last.end, c.end), priority: top.priority, type: top.type, rule: top.rule };
    } else {
      merged.push(c);
    }
  }
  return merged;
}

function tallyRules(candidates: readonly Candidate[]): RuleCount[] {
  const counts = new Map<string, { type: string; count: number }>();
  for (const c of candidates) {
    const entry = counts.get(c.rule) ?? { type: c.type, count: 0 };
    entry.count++;
    counts.set(c.rule, entry);
  }
  return [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([rule, v]) => ({ rule, type: v.type, count: v.count }));
}

export function tooLarge(limit: number, size: number): CustosError {
  return new CustosError('ERR_PROTECT_TOO_LARGE', `Value too large to inspect: ${size} characters, limit ${limit}.`, { detail: { limit, size } });
}

export function createTextRedactor(specs: readonly DetectorSpec[], options: TextRedactorOptions = {}): TextRedactor {
  const keywordIndex = new Map<string, KeywordEntry>();
  const detectors = specs.map((s, i) => compile(s, i, keywordIndex));
  const prefilter = createPrefilter([...keywordIndex.entries()].map(([text, e]) => ({ text, positions: e.positions, wordStart: e.wordStart })));
  // Which detectors each keyword wakes, and the ones that always run (digit shapes).
  const byKeyword: number[][] = Array.from({ length: keywordIndex.size }, () => []);
  detectors.forEach((d, i) => d.keywordIds.forEach((k) => byKeyword[k]!.push(i)));
  const always = detectors.flatMap((d, i) => (d.mode === 'always' ? [i] : []));
  const allow = new Set((options.allow ?? []).map((v) => v.trim()).filter((v) => v !== ''));
  const maxChars = options.maxChars ?? DEFAULT_MAX_TEXT_CHARS;
  return {
    types: new Set(specs.map((s) => s.type)),
    isAllowed: (value) => allow.has(value.trim()),
    redact(text: string, redactOptions?: TextRedactOptions): TextRedaction {
      if (text.length > maxChars) throw tooLarge(maxChars, text.length);
      const secretFile = redactOptions?.dataClasses?.includes('secret_file') ?? false;
      const hits = prefilter.scan(text);
      const woken = new Uint8Array(detectors.length);
      for (const i of always) woken[i] = 1;
      for (const k of hits.found) for (const i of byKeyword[k]!) woken[i] = 1;
      let candidates: Candidate[] = [];
      for (let i = 0; i < detectors.length; i++) {
        const d = detectors[i]!;
        if (woken[i] === 0 || (d.secretFileOnly && !secretFile)) continue;
        runDetector(d, text, hits, candidates);
      }
      if (candidates.length === 0) return { text, count: 0, types: [] };
      const before = candidates.length;
      if (allow.size > 0) candidates = candidates.filter((c) => !allow.has(text.slice(c.start, c.end).trim()));
      const allowed = before - candidates.length;
      candidates = mergeSpans(dropMarkerOnly(text, candidates));
      const parts: string[] = [];
      const types = new Set<string>();
      let pos = 0;
      for (const c of candidates) {
        parts.push(text.slice(pos, c.start), redactOptions?.pseudonym ? redactOptions.pseudonym(c.type, text.slice(c.start, c.end)) : marker(c.type));
        types.add(c.type);
        pos = c.end;
      }
      parts.push(text.slice(pos));
      const result: TextRedaction = { text: parts.join(''), count: candidates.length, types: [...types].sort() };
      return candidates.length === 0 && allowed === 0
        ? { text, count: 0, types: [] }
        : { ...result, rules: tallyRules(candidates), ...(allowed > 0 ? { allowed } : {}) };
    },
  };
}

let defaultRedactor: TextRedactor | undefined;

/** Redacts one string with every built-in detector. */
export function redactText(text: string, options?: TextRedactOptions): TextRedaction {
  defaultRedactor ??= createTextRedactor(DETECTORS);
  return defaultRedactor.redact(text, options);
}
