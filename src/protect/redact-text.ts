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
  readonly secretFileOnly: boolean;
  readonly re: RegExp | undefined;
  readonly mode: 'anchor' | 'gate' | 'line' | 'always';
  /** Indices into the prefilter's keyword list. */
  readonly keywordIds: readonly number[];
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

function compile(spec: DetectorSpec, keywordIndex: Map<string, KeywordEntry>): CompiledDetector {
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
  return { spec, secretFileOnly: spec.scope === 'secret_file', re, mode, keywordIds };
}

const EMPTY_SPANS = new Int32Array(0);

/**
 * The spans found in one text, as (start, end, detector) triples in one growable Int32Array: no
 * object per match. The detector's index is its priority (registry order) and names its type and rule.
 */
class SpanList {
  /** Allocated at the first push: most strings (keys' values, ids, clean text) have no candidate at all. */
  data = EMPTY_SPANS;
  length = 0;

  push(start: number, end: number, detector: number): void {
    const at = this.length * 3;
    if (at + 3 > this.data.length) {
      const grown = new Int32Array(Math.max(96, this.data.length * 2));
      grown.set(this.data);
      this.data = grown;
    }
    this.data[at] = start;
    this.data[at + 1] = end;
    this.data[at + 2] = detector;
    this.length++;
  }

  /** Keeps the triples for which `keep(start, end)` holds, in order; returns how many were dropped. */
  filter(keep: (start: number, end: number) => boolean): number {
    const d = this.data;
    let n = 0;
    for (let i = 0; i < this.length; i++) {
      const start = d[i * 3]!;
      const end = d[i * 3 + 1]!;
      if (!keep(start, end)) continue;
      d[n * 3] = start;
      d[n * 3 + 1] = end;
      d[n * 3 + 2] = d[i * 3 + 2]!;
      n++;
    }
    const dropped = this.length - n;
    this.length = n;
    return dropped;
  }
}

/** Adds a match's span (the whole match, or the first of `groups` that matched) shifted by `shift`, unless empty. */
function pushMatch(m: RegExpExecArray, groups: readonly number[] | undefined, shift: number, detector: number, out: SpanList): void {
  let start: number;
  let end: number;
  if (!groups) {
    start = m.index;
    end = start + m[0].length;
  } else {
    let range: [number, number] | undefined;
    for (const g of groups) if ((range = m.indices?.[g])) break;
    if (!range) return;
    [start, end] = range;
  }
  if (end > start) out.push(start + shift, end + shift, detector);
}

/** Runs a global pattern over `text` (a line of the whole text, or all of it); spans are shifted by `shift`, the text's offset. */
function findWithPattern(re: RegExp, spec: DetectorSpec, text: string, shift: number, detector: number, out: SpanList): void {
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[0].length === 0) re.lastIndex++;
    if (spec.validate && !spec.validate(m, text)) {
      re.lastIndex = m.index + 1;
      continue;
    }
    pushMatch(m, spec.groups, shift, detector, out);
  }
}

/** Two buffers the keyword offsets of a detector are merged through (detectors run one at a time). */
let startsScratch = new Int32Array(1024);
let mergeScratch = new Int32Array(1024);

/**
 * Where a detector's keywords occur, ascending (one keyword: the prefilter's own list). Several
 * keywords' ascending lists are merged pairwise into a shared buffer, valid until the next call.
 */
function keywordStarts(d: CompiledDetector, hits: KeywordHits): Offsets {
  if (d.keywordIds.length === 1) return hits.positions[d.keywordIds[0]!] ?? [];
  let n = 0;
  for (const k of d.keywordIds) {
    const list = hits.positions[k];
    if (!list?.length) continue;
    if (n + list.length > startsScratch.length) {
      const size = (n + list.length) * 2;
      const grown = new Int32Array(size);
      grown.set(startsScratch.subarray(0, n));
      startsScratch = grown;
      mergeScratch = new Int32Array(size);
    }
    const [a, out] = [startsScratch, mergeScratch];
    let i = 0;
    let j = 0;
    let o = 0;
    while (i < n && j < list.length) out[o++] = a[i]! <= list[j]! ? a[i++]! : list[j++]!;
    while (i < n) out[o++] = a[i++]!;
    while (j < list.length) out[o++] = list[j++]!;
    [startsScratch, mergeScratch] = [out, a];
    n = o;
  }
  return startsScratch.subarray(0, n);
}

/** Runs a sticky pattern at each keyword hit (minus the detector's offset); hits inside a found match are skipped. */
function findAtHits(d: CompiledDetector, detector: number, text: string, hits: KeywordHits, out: SpanList): void {
  if (!d.re) {
    for (const s of d.spec.find!(text, keywordStarts(d, hits))) out.push(s.start, s.end, detector);
    return;
  }
  const re = d.re;
  const { offset = 0, validate, groups } = d.spec;
  let covered = -1;
  let previous = -1;
  for (const hit of keywordStarts(d, hits)) {
    const start = hit - offset;
    if (start < 0 || start < covered || hit === previous) continue;
    previous = hit;
    re.lastIndex = start;
    const m = re.exec(text);
    if (!m || (validate && !validate(m, text))) continue;
    pushMatch(m, groups, 0, detector, out);
    covered = m.index + m[0].length;
  }
}

/** Runs the pattern or finder on each line that holds one of the detector's keywords. */
function findInLines(d: CompiledDetector, detector: number, text: string, hits: KeywordHits, out: SpanList): void {
  let lineEnd = -1;
  for (const hit of keywordStarts(d, hits)) {
    if (hit < lineEnd) continue;
    const lineStart = hit === 0 ? 0 : text.lastIndexOf('\n', hit - 1) + 1;
    lineEnd = text.indexOf('\n', hit);
    if (lineEnd < 0) lineEnd = text.length;
    const line = lineStart === 0 && lineEnd === text.length ? text : text.slice(lineStart, lineEnd);
    if (d.re) findWithPattern(d.re, d.spec, line, lineStart, detector, out);
    else for (const s of d.spec.find!(line)) out.push(s.start + lineStart, s.end + lineStart, detector);
  }
}

function runDetector(d: CompiledDetector, detector: number, text: string, hits: KeywordHits, out: SpanList): void {
  try {
    if (d.mode === 'anchor') findAtHits(d, detector, text, hits, out);
    else if (d.mode === 'line') findInLines(d, detector, text, hits, out);
    else if (d.re) findWithPattern(d.re, d.spec, text, 0, detector, out);
    else for (const s of d.spec.find!(text)) out.push(s.start, s.end, detector);
  } catch {
    // Neither the text nor the thrown error (its message may quote the text) goes further.
    throw new CustosError('ERR_PROTECT_FAILED', undefined, { detail: { detector: d.spec.id } });
  }
}

/** Drops candidates that are nothing but existing markers (and blanks or punctuation around them). */
function dropMarkerOnly(text: string, candidates: SpanList): void {
  if (!text.includes('[redacted:')) return;
  const markers: Span[] = [];
  MARKER.lastIndex = 0;
  for (let m = MARKER.exec(text); m !== null; m = MARKER.exec(text)) markers.push({ start: m.index, end: m.index + m[0].length });
  if (markers.length === 0) return;
  candidates.filter((start, end) => {
    let residue = '';
    let pos = start;
    for (const mk of markers) {
      if (mk.end <= pos || mk.start >= end) continue;
      residue += text.slice(pos, Math.max(pos, mk.start));
      pos = Math.max(pos, mk.end);
    }
    residue += text.slice(pos, Math.max(pos, end));
    return /[A-Za-z0-9]/.test(residue);
  });
}

/**
 * Merges overlapping candidates (sorted by start, then priority, stably); each merged span takes
 * the detector of its highest-priority member. Returns the merged triples.
 */
function mergeSpans(candidates: SpanList): SpanList {
  const d = candidates.data;
  const order = Array.from({ length: candidates.length }, (_, i) => i * 3);
  order.sort((a, b) => d[a]! - d[b]! || d[a + 2]! - d[b + 2]!);
  const merged = new SpanList();
  const m = merged.data.length >= d.length ? merged.data : (merged.data = new Int32Array(d.length));
  let n = -3;
  for (const i of order) {
    if (n >= 0 && d[i]! < m[n + 1]!) {
      if (d[i + 1]! > m[n + 1]!) m[n + 1] = d[i + 1]!;
      if (d[i + 2]! < m[n + 2]!) m[n + 2] = d[i + 2]!;
    } else {
      n += 3;
      m[n] = d[i]!;
      m[n + 1] = d[i + 1]!;
      m[n + 2] = d[i + 2]!;
    }
  }
  merged.length = (n + 3) / 3;
  return merged;
}

/** Rule ids in sorted order, and each detector's place in it (several detectors may share a rule id). */
interface RuleTable {
  readonly ids: readonly string[];
  readonly slotOf: Int32Array;
}

function ruleTable(specs: readonly DetectorSpec[]): RuleTable {
  const ids = [...new Set(specs.map((s) => s.id))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const slot = new Map(ids.map((id, i) => [id, i]));
  return { ids, slotOf: Int32Array.from(specs, (s) => slot.get(s.id)!) };
}

/** How many redactions each rule made, sorted by rule id; a rule's type is that of its first redaction. */
function tallyRules(merged: SpanList, detectors: readonly CompiledDetector[], rules: RuleTable): RuleCount[] {
  const counts = new Int32Array(rules.ids.length);
  const types: string[] = [];
  for (let i = 0; i < merged.length; i++) {
    const detector = merged.data[i * 3 + 2]!;
    const slot = rules.slotOf[detector]!;
    if (counts[slot] === 0) types[slot] = detectors[detector]!.spec.type;
    counts[slot] = counts[slot]! + 1;
  }
  const out: RuleCount[] = [];
  for (let slot = 0; slot < counts.length; slot++) if (counts[slot]! > 0) out.push({ rule: rules.ids[slot]!, type: types[slot]!, count: counts[slot]! });
  return out;
}

export function tooLarge(limit: number, size: number): CustosError {
  return new CustosError('ERR_PROTECT_TOO_LARGE', `Value too large to inspect: ${size} characters, limit ${limit}.`, { detail: { limit, size } });
}

export function createTextRedactor(specs: readonly DetectorSpec[], options: TextRedactorOptions = {}): TextRedactor {
  const keywordIndex = new Map<string, KeywordEntry>();
  const detectors = specs.map((s) => compile(s, keywordIndex));
  const prefilter = createPrefilter([...keywordIndex.values()]);
  // Which detectors each keyword wakes, and the ones that always run (digit shapes).
  const byKeyword: number[][] = Array.from({ length: keywordIndex.size }, () => []);
  detectors.forEach((d, i) => d.keywordIds.forEach((k) => byKeyword[k]!.push(i)));
  const rules = ruleTable(specs);
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
      const candidates = new SpanList();
      for (let i = 0; i < detectors.length; i++) {
        const d = detectors[i]!;
        if (woken[i] === 0 || (d.secretFileOnly && !secretFile)) continue;
        runDetector(d, i, text, hits, candidates);
      }
      if (candidates.length === 0) return { text, count: 0, types: [] };
      const allowed = allow.size > 0 ? candidates.filter((start, end) => !allow.has(text.slice(start, end).trim())) : 0;
      dropMarkerOnly(text, candidates);
      const merged = mergeSpans(candidates);
      const parts: string[] = [];
      const types = new Set<string>();
      let pos = 0;
      for (let i = 0; i < merged.length; i++) {
        const start = merged.data[i * 3]!;
        const type = detectors[merged.data[i * 3 + 2]!]!.spec.type;
        parts.push(text.slice(pos, start), redactOptions?.pseudonym ? redactOptions.pseudonym(type, text.slice(start, merged.data[i * 3 + 1]!)) : marker(type));
        types.add(type);
        pos = merged.data[i * 3 + 1]!;
      }
      parts.push(text.slice(pos));
      if (merged.length === 0 && allowed === 0) return { text, count: 0, types: [] };
      return {
        text: parts.join(''),
        count: merged.length,
        types: [...types].sort(),
        rules: tallyRules(merged, detectors, rules),
        ...(allowed > 0 ? { allowed } : {}),
      };
    },
  };
}

let defaultRedactor: TextRedactor | undefined;

/** Redacts one string with every built-in detector. */
export function redactText(text: string, options?: TextRedactOptions): TextRedaction {
  defaultRedactor ??= createTextRedactor(DETECTORS);
  return defaultRedactor.redact(text, options);
}
