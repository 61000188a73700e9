/**
 * Runs detectors over a string and replaces each detected span with `[redacted:TYPE]`.
 * One prefilter pass finds every keyword; anchored detectors run a sticky pattern (or their
 * finder) at the hits, line detectors on each line holding a hit, gated ones over the whole
 * text when a keyword occurred, the few keyword-less ones (digit shapes) always.
 * Overlapping spans merge into one redaction typed by the earliest detector. Existing markers
 * are never re-redacted, so redacting twice finds nothing new. Allow-listed values are kept.
 */
import { CustosError } from '../kernel/index.js';
import type { DetectorSpec, Offsets, Span } from './detector.js';
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
  readonly mode: 'anchor' | 'gate' | 'line' | 'always';
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
  readonly text: string;
  readonly positions: 'all' | 'line' | 'none';
  readonly wordStart: boolean;
}

function modeOf(spec: DetectorSpec): CompiledDetector['mode'] {
  if (!spec.keywords?.length) return 'always';
  if (spec.mode === 'line') return 'line';
  if (spec.find) return spec.mode === 'anchor' ? 'anchor' : 'gate';
  return spec.mode ?? 'anchor';
}

/**
 * One prefilter keyword per (text, how it is used): every position is recorded for anchored
 * detectors, the first on each line for line detectors; an anchored keyword that starts with a
 * letter or digit and sits right at the detector's start counts only at a word start.
 */
function keywordId(keywordIndex: Map<string, KeywordEntry>, text: string, positions: KeywordEntry['positions'], wordStart: boolean): number {
  const key = `${positions}:${wordStart ? 'w' : '-'}:${text}`;
  let entry = keywordIndex.get(key);
  if (!entry) {
    entry = { index: keywordIndex.size, text, positions, wordStart };
    keywordIndex.set(key, entry);
  }
  return entry.index;
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
  const positions = mode === 'anchor' ? 'all' : mode === 'line' ? 'line' : 'none';
  const atWordStart = mode === 'anchor' && !spec.find && (spec.offset ?? 0) === 0;
  const keywordIds = (spec.keywords ?? []).map((k) => {
    const text = k.toLowerCase();
    return keywordId(keywordIndex, text, positions, atWordStart && /^[a-z0-9_]/.test(text));
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

/** Runs a global pattern over `text` (a line of the whole text, or all of it); spans are shifted by `shift`, the text's offset. */
function findWithPattern(re: RegExp, spec: DetectorSpec, text: string, shift: number, spans: Span[]): void {
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[0].length === 0) re.lastIndex++;
    if (spec.validate && !spec.validate(m, text)) {
      re.lastIndex = m.index + 1;
      continue;
    }
    const span = selectSpan(m, spec.groups);
    if (span && span.end > span.start) spans.push(shift === 0 ? span : { start: span.start + shift, end: span.end + shift });
  }
}

let startsScratch = new Int32Array(1024);

/**
 * Where a detector's keywords occur, ascending (one keyword: the prefilter's own list). Several
 * keywords are merged into a shared buffer, valid until the next call (detectors run one at a time).
 */
function keywordStarts(d: CompiledDetector, hits: KeywordHits): Offsets {
  if (d.keywordIds.length === 1) return hits.positions[d.keywordIds[0]!] ?? [];
  let n = 0;
  for (const k of d.keywordIds) n += hits.positions[k]?.length ?? 0;
  if (n > startsScratch.length) startsScratch = new Int32Array(n * 2);
  n = 0;
  for (const k of d.keywordIds) for (const x of hits.positions[k] ?? []) startsScratch[n++] = x;
  return startsScratch.subarray(0, n).sort();
}

/** Runs a sticky pattern at each keyword hit (minus the detector's offset); hits inside a found match are skipped. */
function findAtHits(d: CompiledDetector, text: string, hits: KeywordHits, spans: Span[]): void {
  if (!d.re) {
    for (const s of d.spec.find!(text, keywordStarts(d, hits))) spans.push(s);
    return;
  }
  const re = d.re;
  const offset = d.spec.offset ?? 0;
  let covered = -1;
  let previous = -1;
  for (const hit of keywordStarts(d, hits)) {
    const start = hit - offset;
    if (start < 0 || start < covered || hit === previous) continue;
    previous = hit;
    re.lastIndex = start;
    const m = re.exec(text);
    if (!m || (d.spec.validate && !d.spec.validate(m, text))) continue;
    const span = selectSpan(m, d.spec.groups);
    if (span && span.end > span.start) spans.push(span);
    covered = m.index + m[0].length;
  }
}

/** Runs the pattern or finder on each line that holds one of the detector's keywords. */
function findInLines(d: CompiledDetector, text: string, hits: KeywordHits, spans: Span[]): void {
  let lineEnd = -1;
  for (const hit of keywordStarts(d, hits)) {
    if (hit < lineEnd) continue;
    const lineStart = hit === 0 ? 0 : text.lastIndexOf('\n', hit - 1) + 1;
    lineEnd = text.indexOf('\n', hit);
    if (lineEnd < 0) lineEnd = text.length;
    const line = lineStart === 0 && lineEnd === text.length ? text : text.slice(lineStart, lineEnd);
    if (d.re) findWithPattern(d.re, d.spec, line, lineStart, spans);
    else for (const s of d.spec.find!(line)) spans.push({ start: s.start + lineStart, end: s.end + lineStart });
  }
}

/** Reused by runDetector (detectors run one at a time), so a detector that finds nothing allocates no list. */
const scratchSpans: Span[] = [];

function runDetector(d: CompiledDetector, text: string, hits: KeywordHits, out: Candidate[]): void {
  const spans = scratchSpans;
  spans.length = 0;
  try {
    if (d.mode === 'anchor') findAtHits(d, text, hits, spans);
    else if (d.mode === 'line') findInLines(d, text, hits, spans);
    else if (d.re) findWithPattern(d.re, d.spec, text, 0, spans);
    else for (const s of d.spec.find!(text)) spans.push(s);
  } catch {
    // Neither the text nor the thrown error (its message may quote the text) goes further.
    throw new CustosError('ERR_PROTECT_FAILED', undefined, { detail: { detector: d.spec.id } });
  }
  for (const s of spans) out.push({ start: s.start, end: s.end, priority: d.priority, type: d.spec.type, rule: d.spec.id });
}

/** Drops candidates that are nothing but existing markers (and blanks or punctuation around them). */
function dropMarkerOnly(text: string, candidates: Candidate[]): Candidate[] {
  if (!text.includes('[redacted:')) return candidates;
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
  const counts = new Map<string, { rule: string; type: string; count: number }>();
  for (const c of candidates) {
    const entry = counts.get(c.rule);
    if (entry) entry.count++;
    else counts.set(c.rule, { rule: c.rule, type: c.type, count: 1 });
  }
  return [...counts.values()].sort((a, b) => (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0));
}

export function tooLarge(limit: number, size: number): CustosError {
  return new CustosError('ERR_PROTECT_TOO_LARGE', `Value too large to inspect: ${size} characters, limit ${limit}.`, { detail: { limit, size } });
}

export function createTextRedactor(specs: readonly DetectorSpec[], options: TextRedactorOptions = {}): TextRedactor {
  const keywordIndex = new Map<string, KeywordEntry>();
  const detectors = specs.map((s, i) => compile(s, i, keywordIndex));
  const prefilter = createPrefilter([...keywordIndex.values()]);
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
