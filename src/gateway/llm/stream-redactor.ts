/**
 * A streamed model answer redacted across events. Providers stream text as deltas of a few
 * characters, so a value the model writes (an SSN, a key, a patient's name) is split across
 * events and no detector would see it whole in one event. Here each text stream (a choice's
 * content or tool-call arguments, a content block, an output item's text) is accumulated and
 * released only by complete lines, the incomplete last line held back; a held-back line past
 * `maxHeldChars` is released up to its last blank before the last `keepBackChars`. At the
 * stream's end event the rest is released before it: in the end event itself when its shape
 * carries the text (an OpenAI chunk with `finish_reason`), else in a delta of the same shape
 * written just before it. Every released event goes through `redact` whole, so a text field
 * is redacted as one piece; an event's other fields, and every other event, as before. Where
 * events are numbered (Responses' `sequence_number`), the released ones are numbered again in
 * the order written, from the provider's first number, so a delta written before an end event
 * does not repeat the number of the event it was made from.
 *
 * Pure: no I/O; the door gives it `redact` and writes what it returns.
 */
import { CustosError, isRecord } from '../../kernel/index.js';

/** The three streaming formats, by endpoint. */
export type StreamShape = 'openai-chat' | 'openai-responses' | 'anthropic';

/** One SSE event: its name, and its data parsed as JSON (or its text when it is not JSON, e.g. `[DONE]`). */
export interface StreamPart {
  readonly event?: string;
  readonly data: unknown;
}

/** A released event: as the provider's text regrouped (`raw`, for the trail's hash and redaction) and redacted. */
export interface ReleasedPart {
  readonly raw: StreamPart;
  readonly redacted: StreamPart;
}

export interface StreamRedactorOptions {
  /** The agent-bound redaction of one event's data (the pipeline's `redactPart`). */
  readonly redact: (data: unknown) => unknown;
  /** Longest incomplete line held back (default 2,048 characters). */
  readonly maxHeldChars?: number;
  /** What a forced cut keeps back at least (default 256 characters). */
  readonly keepBackChars?: number;
  /** Most text streams open at once (default 1,024); past it the answer is refused (ERR_INPUT_TOO_COMPLEX). */
  readonly maxStreams?: number;
}

export interface StreamRedactor {
  /** The events to write for one event of the provider's (possibly a synthesized delta before it). */
  push(part: StreamPart): ReleasedPart[];
  /** At the end of the body: whatever is still held, for every stream. */
  end(): ReleasedPart[];
  /** After a failed stream: what is still held, as synthesized deltas not redacted (for the trail, which redacts them); nothing more is released. */
  held(): StreamPart[];
}

export const MAX_HELD_CHARS = 2048;
export const KEEP_BACK_CHARS = 256;
export const MAX_STREAMS = 1024;

type Json = Record<string, unknown>;

/** A text field of one event: the stream it belongs to and its value (a string, or anything else: then it is redacted whole). */
interface Slot {
  readonly key: string;
  readonly value: unknown;
}

interface ShapeRules {
  slots(data: Json): Slot[];
  /** `data` with the stream's text field set to `text` (a copy). */
  put(data: Json, key: string, text: string): Json;
  /** A delta event of this stream alone, made from the last event that carried it. */
  isolate(template: Json, key: string): Json;
  /** The streams this event ends; undefined when none. */
  ends(data: Json): ((key: string) => boolean) | undefined;
  /** Whether an ending event carries the rest itself (else a delta is written before it). */
  carries: boolean;
  /** The field that numbers the events, when the shape has one. */
  sequence?: string;
}

interface Held {
  text: string;
  template: StreamPart & { data: Json };
}

const indexOf = (v: unknown, position: number): number => (typeof v === 'number' && Number.isInteger(v) ? v : position);

/** OpenAI Chat Completions: `choices[i].delta.content`, `.refusal` and `.tool_calls[j].function.arguments`; a choice ends with `finish_reason`. */
const OPENAI_CHAT: ShapeRules = {
  slots(data) {
    if (!Array.isArray(data.choices)) return [];
    return data.choices.flatMap((choice: unknown, position) => {
      if (!isRecord(choice) || !isRecord(choice.delta)) return [];
      const i = indexOf(choice.index, position);
      const { delta } = choice;
      const slots: Slot[] = [];
      if ('content' in delta) slots.push({ key: `${i}`, value: delta.content });
      if ('refusal' in delta) slots.push({ key: `${i}/r`, value: delta.refusal });
      if (Array.isArray(delta.tool_calls))
        delta.tool_calls.forEach((call: unknown, p) => {
          if (isRecord(call) && isRecord(call.function) && 'arguments' in call.function)
            slots.push({ key: `${i}/t${indexOf(call.index, p)}`, value: call.function.arguments });
        });
      return slots;
    });
  },
  put(data, key, text) {
    const [i, field] = key.split('/') as [string, string | undefined];
    const choices = Array.isArray(data.choices) ? data.choices : [];
    const at = choices.findIndex((c: unknown, p) => isRecord(c) && `${indexOf(c.index, p)}` === i);
    if (at < 0) return data;
    const choice = choices[at] as Json;
    const delta = isRecord(choice.delta) ? choice.delta : {};
    let next: Json;
    if (field === undefined) next = { ...delta, content: text };
    else if (field === 'r') next = { ...delta, refusal: text };
    else {
      const j = field.slice(1);
      const calls: unknown[] = Array.isArray(delta.tool_calls) ? delta.tool_calls : [];
      const found = calls.findIndex((c, p) => isRecord(c) && `${indexOf(c.index, p)}` === j);
      const call: Json = found >= 0 ? (calls[found] as Json) : { index: Number(j) };
      const updated = { ...call, function: { ...(isRecord(call.function) ? call.function : {}), arguments: text } };
      next = { ...delta, tool_calls: found >= 0 ? calls.map((c, p) => (p === found ? updated : c)) : [...calls, updated] };
    }
    return { ...data, choices: choices.map((c, p) => (p === at ? { ...choice, delta: next } : c)) };
  },
  isolate(template, key) {
    const i = Number(key.split('/')[0]);
    return { ...template, choices: [{ index: i, delta: {}, finish_reason: null }] };
  },
  ends(data) {
    if (!Array.isArray(data.choices)) return undefined;
    const ended = data.choices.flatMap((c: unknown, p) => (isRecord(c) && c.finish_reason != null ? [`${indexOf(c.index, p)}`] : []));
    return ended.length === 0 ? undefined : (key) => ended.includes(key.split('/')[0]!);
  },
  carries: true,
};

/** Anthropic Messages: `content_block_delta` text, partial JSON and thinking, per block `index`; a block ends with `content_block_stop`. */
const ANTHROPIC_FIELDS: Readonly<Record<string, string>> = { text_delta: 'text', input_json_delta: 'partial_json', thinking_delta: 'thinking' };
const ANTHROPIC: ShapeRules = {
  slots(data) {
    if (data.type !== 'content_block_delta' || !isRecord(data.delta)) return [];
    const field = ANTHROPIC_FIELDS[String(data.delta.type)];
    return field ? [{ key: String(data.index), value: data.delta[field] }] : [];
  },
  put(data, _key, text) {
    const delta = isRecord(data.delta) ? data.delta : {};
    return { ...data, delta: { ...delta, [ANTHROPIC_FIELDS[String(delta.type)] ?? 'text']: text } };
  },
  isolate: (template) => template,
  ends(data) {
    if (data.type === 'content_block_stop') return (key) => key === String(data.index);
    return data.type === 'message_delta' || data.type === 'message_stop' || data.type === 'error' ? () => true : undefined;
  },
  carries: false,
};

/** OpenAI Responses: `<kind>.delta` per output item (and content or summary part), ended by `<kind>.done`. */
const RESPONSES_KINDS = [
  'response.output_text',
  'response.refusal',
  'response.function_call_arguments',
  'response.reasoning_text',
  'response.reasoning_summary_text',
];
const RESPONSES_END = ['response.completed', 'response.failed', 'response.incomplete', 'error'];
const responsesKey = (kind: string, data: Json): string => JSON.stringify([kind, data.item_id, data.output_index, data.content_index, data.summary_index]);
const kindOf = (type: unknown, suffix: string): string | undefined =>
  typeof type === 'string' && type.endsWith(suffix) ? RESPONSES_KINDS.find((k) => `${k}${suffix}` === type) : undefined;
const OPENAI_RESPONSES: ShapeRules = {
  slots(data) {
    const kind = kindOf(data.type, '.delta');
    return kind ? [{ key: responsesKey(kind, data), value: data.delta }] : [];
  },
  put: (data, _key, text) => ({ ...data, delta: text }),
  isolate: (template) => ('logprobs' in template ? { ...template, logprobs: [] } : template), // the template's own tokens are not this delta's
  ends(data) {
    const kind = kindOf(data.type, '.done');
    if (kind) return (key) => key === responsesKey(kind, data);
    return RESPONSES_END.includes(String(data.type)) ? () => true : undefined;
  },
  carries: false,
  sequence: 'sequence_number',
};

const SHAPES: Readonly<Record<StreamShape, ShapeRules>> = { 'openai-chat': OPENAI_CHAT, anthropic: ANTHROPIC, 'openai-responses': OPENAI_RESPONSES };

/**
 * Where a held-back line (from `from` on) is cut when it is too long: after its last blank before
 * `limit`; with no blank there, at `limit` itself, moved back before a `[redacted:…]` marker or a
 * surrogate pair it would split. Always past `from`.
 */
export function forcedCut(text: string, from: number, limit: number): number {
  for (let i = Math.min(limit, text.length) - 1; i >= from; i--) if (/\s/.test(text[i]!)) return i + 1;
  // One token longer than the cap: cut at the limit (the residual docs/api.md names).
  let cut = Math.min(limit, text.length);
  const open = text.lastIndexOf('[', cut - 1);
  if (open > from && cut - open <= 64 && !text.slice(open, cut).includes(']')) cut = open;
  if (cut - 1 > from && /[\uD800-\uDBFF]/.test(text[cut - 1]!)) cut -= 1;
  return cut;
}

export function createStreamRedactor(shape: StreamShape, options: StreamRedactorOptions): StreamRedactor {
  const rules = SHAPES[shape];
  const maxHeld = Math.max(1, options.maxHeldChars ?? MAX_HELD_CHARS);
  const keepBack = Math.min(options.keepBackChars ?? KEEP_BACK_CHARS, maxHeld - 1); // so a forced cut always releases something
  const maxStreams = options.maxStreams ?? MAX_STREAMS;
  const streams = new Map<string, Held>();
  let next: number | undefined; // the number the next numbered event gets

  /** The event numbered in the order written (a copy), when its shape numbers events and it carries a number. */
  function renumber(part: StreamPart): StreamPart {
    const field = rules.sequence;
    if (field === undefined || !isRecord(part.data) || typeof part.data[field] !== 'number') return part;
    next ??= part.data[field];
    return { ...part, data: { ...part.data, [field]: next++ } };
  }

  function emit(written: StreamPart): ReleasedPart {
    const part = renumber(written);
    return { raw: part, redacted: { ...(part.event ? { event: part.event } : {}), data: options.redact(part.data) } };
  }

  /** The complete lines of a stream's held text (or the part before a forced cut), taken out of it. */
  function release(held: Held): string {
    let cut = held.text.lastIndexOf('\n') + 1;
    // A PEM block is one value over several lines: held from its BEGIN until its END arrives.
    const begin = held.text.lastIndexOf('-----BEGIN', cut - 1);
    if (begin >= 0 && !held.text.includes('-----END', begin)) cut = begin;
    while (held.text.length - cut > maxHeld) cut = forcedCut(held.text, cut, held.text.length - keepBack);
    const out = held.text.slice(0, cut);
    held.text = held.text.slice(cut);
    return out;
  }

  /** A stream's held text as a delta of its own, the stream closed. */
  function take(key: string): StreamPart[] {
    const held = streams.get(key)!;
    streams.delete(key);
    if (held.text === '') return [];
    return [{ ...(held.template.event ? { event: held.template.event } : {}), data: rules.put(rules.isolate(held.template.data, key), key, held.text) }];
  }

  const flush = (key: string): ReleasedPart[] => take(key).map(emit);

  function push(part: StreamPart): ReleasedPart[] {
    const { data } = part;
    if (!isRecord(data)) return shape === 'openai-chat' && data === '[DONE]' ? [...end(), emit(part)] : [emit(part)];
    const ends = rules.ends(data);
    const ending = (key: string): boolean => ends !== undefined && rules.carries && ends(key);
    let out = data;
    for (const slot of rules.slots(data)) {
      if (typeof slot.value !== 'string') continue; // an unexpected type: redacted whole with the event
      let held = streams.get(slot.key);
      if (!held) {
        if (streams.size >= maxStreams) throw new CustosError('ERR_INPUT_TOO_COMPLEX', 'A streamed answer opens more text streams than Custos holds.');
        held = { text: '', template: part as Held['template'] };
        streams.set(slot.key, held);
      }
      held.template = part as Held['template'];
      held.text += slot.value;
      const text = ending(slot.key) ? held.text : release(held);
      if (ending(slot.key)) held.text = '';
      out = rules.put(out, slot.key, text);
    }
    const before: ReleasedPart[] = [];
    if (ends)
      for (const key of [...streams.keys()].filter(ends)) {
        if (!rules.carries) before.push(...flush(key));
        else {
          const rest = streams.get(key)!.text;
          streams.delete(key);
          if (rest !== '') out = rules.put(out, key, rest);
        }
      }
    return [...before, emit(out === data ? part : { ...(part.event ? { event: part.event } : {}), data: out })];
  }

  function end(): ReleasedPart[] {
    return [...streams.keys()].flatMap(flush);
  }

  return { push, end, held: () => [...streams.keys()].flatMap(take).map(renumber) };
}
