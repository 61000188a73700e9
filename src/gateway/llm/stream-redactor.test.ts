import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../kernel/index.js';
import { createPseudonymVault, createProtector } from '../../protect/index.js';
import { FAKE } from '../../protect/fake-credentials.test-support.js';
import { createStreamRedactor, forcedCut } from './stream-redactor.js';
import type { ReleasedPart, StreamPart, StreamShape } from './stream-redactor.js';

const protector = createProtector();
const redact = (data: unknown): unknown => protector.redact(data).value;

/** `text` in deltas of `size` characters. */
const pieces = (text: string, size: number): string[] => Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size));

/** A provider's stream of `deltas` in each shape, with the events around them that the real APIs send. */
function streamOf(shape: StreamShape, deltas: readonly string[]): StreamPart[] {
  if (shape === 'openai-chat') {
    const chunk = (choice: object) => ({ data: { id: 'c1', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [choice] } });
    return [
      ...deltas.map((d, i) => chunk({ index: 0, delta: i === 0 ? { role: 'assistant', content: d } : { content: d }, finish_reason: null })),
      chunk({ index: 0, delta: {}, finish_reason: 'stop' }),
      { data: '[DONE]' },
    ];
  }
  if (shape === 'anthropic') {
    const ev = (data: { type: string }) => ({ event: data.type, data });
    return [
      ev({ type: 'message_start', message: { id: 'msg_1', content: [] } } as { type: string }),
      ev({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } as { type: string }),
      ...deltas.map((text) => ev({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } } as { type: string })),
      ev({ type: 'content_block_stop', index: 0 } as { type: string }),
      ev({ type: 'message_delta', delta: { stop_reason: 'end_turn' } } as { type: string }),
      ev({ type: 'message_stop' }),
    ];
  }
  const ev = (data: { type: string }) => ({ event: data.type, data });
  const at = { item_id: 'msg_1', output_index: 0, content_index: 0 };
  return [
    ev({ type: 'response.created', response: { id: 'r1' } } as { type: string }),
    ...deltas.map((delta) => ev({ type: 'response.output_text.delta', ...at, delta } as { type: string })),
    ev({ type: 'response.output_text.done', ...at, text: deltas.join('') } as { type: string }),
    ev({ type: 'response.completed', response: { id: 'r1' } } as { type: string }),
  ];
}

/** The streamed text of one released event (undefined for an event without one). */
function textOf(shape: StreamShape, part: StreamPart): string | undefined {
  const d = part.data as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  if (shape === 'openai-chat') return typeof d === 'object' ? d.choices?.[0]?.delta?.content : undefined;
  if (shape === 'anthropic') return d.type === 'content_block_delta' ? d.delta.text : undefined;
  return d.type === 'response.output_text.delta' ? d.delta : undefined;
}

function run(shape: StreamShape, parts: readonly StreamPart[], options: { maxHeldChars?: number; keepBackChars?: number } = {}): ReleasedPart[] {
  const redactor = createStreamRedactor(shape, { redact, ...options });
  return [...parts.flatMap((p) => redactor.push(p)), ...redactor.end()];
}

const joined = (shape: StreamShape, out: readonly ReleasedPart[], side: 'raw' | 'redacted' = 'redacted'): string =>
  out.map((p) => textOf(shape, p[side]) ?? '').join('');

const SHAPES: readonly StreamShape[] = ['openai-chat', 'anthropic', 'openai-responses'];

const VALUES: ReadonlyArray<{ name: string; value: string; clear: readonly string[]; marker: string }> = [
  { name: 'an SSN', value: 'SSN 123-45-6789', clear: ['123-45-6789', '6789'], marker: '[redacted:ssn]' },
  { name: 'a card number', value: 'card 4111 1111 1111 1111', clear: ['4111 1111 1111 1111', '1111 1111'], marker: '[redacted:card]' },
  { name: 'an sk- key', value: `key ${FAKE.openai}`, clear: [FAKE.openai.slice(8, 30)], marker: '[redacted:secret]' },
  { name: 'a ghp_ token', value: `token ${FAKE.githubPat}`, clear: [FAKE.githubPat.slice(4, 30)], marker: '[redacted:' },
  { name: "a patient's name and birth date", value: 'Patient: Jane Doe, DOB: 03/14/1962', clear: ['Jane', 'Doe', '1962'], marker: '[redacted:name]' },
];

describe('createStreamRedactor', () => {
  for (const shape of SHAPES)
    describe(shape, () => {
      for (const { name, value, clear, marker } of VALUES)
        it(`redacts ${name} split across events`, () => {
          const text = `Here it is: ${value}\nand the next line ${value} at the end`;
          // 3–8 events per value: deltas of 3 to 5 characters.
          for (const size of [3, 4, 5]) {
            const out = run(shape, streamOf(shape, pieces(text, size)));
            const shown = JSON.stringify(out.map((p) => p.redacted));
            for (const c of clear) expect(shown).not.toContain(c);
            expect(joined(shape, out)).toContain(marker);
            expect(joined(shape, out)).toMatch(/^Here it is: .*\nand the next line .* at the end$/);
            // The raw regrouping loses and adds nothing.
            expect(joined(shape, out, 'raw')).toBe(text);
          }
        });

      it('passes text without a finding byte-identical, every event kept (empty deltas where nothing was released)', () => {
        const text = 'Line one of the answer.\nLine two, with commas; and symbols: {"a": [1, 2]}\n\n  indented ✓ émoji 🎉 end';
        const parts = streamOf(shape, pieces(text, 3));
        const out = run(shape, parts);
        expect(joined(shape, out)).toBe(text);
        const deltas = out.filter((p) => textOf(shape, p.raw) !== undefined);
        expect(deltas.length).toBeGreaterThanOrEqual(parts.filter((p) => textOf(shape, p) !== undefined).length);
        // Released only by complete lines: every non-empty release but the last ends with a newline.
        const releases = deltas.map((p) => textOf(shape, p.raw)!).filter((t) => t !== '');
        for (const r of releases.slice(0, -1)) expect(r.endsWith('\n')).toBe(true);
      });

      it('forces a cut at a blank on a long line without a newline, never holding more than the cap', () => {
        const text = Array.from({ length: 900 }, (_, i) => `word${i}`).join(' ');
        const redactor = createStreamRedactor(shape, { redact });
        let received = 0;
        let released = 0;
        const releases: string[] = [];
        for (const part of streamOf(shape, pieces(text, 4))) {
          received += textOf(shape, part)?.length ?? 0;
          for (const out of redactor.push(part)) {
            const t = textOf(shape, out.raw) ?? '';
            released += t.length;
            if (t !== '') releases.push(t);
          }
          // Held back: at most the cap (2,048) and one delta; released well before the end.
          expect(received - released).toBeLessThanOrEqual(2048 + 4);
        }
        expect(releases.join('')).toBe(text);
        expect(releases.length).toBeGreaterThan(2);
        for (const r of releases.slice(0, -1)) expect(r.endsWith(' ')).toBe(true);
        // A forced cut keeps at least the last 256 characters back.
        expect(releases.at(-1)!.length).toBeGreaterThanOrEqual(256);
      });

      it('releases the rest before the stream end event', () => {
        const out = run(shape, streamOf(shape, pieces('no newline at all, SSN 123-45-6789', 3)));
        const types = out.map((p) => (typeof p.raw.data === 'string' ? p.raw.data : ((p.raw.data as { type?: string }).type ?? 'chunk')));
        const last = out.map((p) => textOf(shape, p.redacted) ?? '').findLastIndex((t) => t !== '');
        const rest = textOf(shape, out[last]!.redacted);
        expect(rest).toBe('no newline at all, SSN [redacted:ssn]');
        if (shape === 'openai-chat') {
          // Carried by the chunk with finish_reason itself, then [DONE].
          expect((out[last]!.raw.data as { choices: Array<{ finish_reason: unknown }> }).choices[0]!.finish_reason).toBe('stop');
          expect(types.slice(last + 1)).toEqual(['[DONE]']);
        } else if (shape === 'anthropic') expect(types.slice(last)).toEqual(['content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
        else expect(types.slice(last)).toEqual(['response.output_text.delta', 'response.output_text.done', 'response.completed']);
      });

      it('restores a pseudonym marker split across events whole, for its user only', () => {
        const vault = createPseudonymVault({ clock: { now: () => new Date(0) } });
        const alice = { sub: 'alice', iss: 'https://idp' } as Principal;
        const bob = { sub: 'bob', iss: 'https://idp' } as Principal;
        const marker = vault.markerFor(alice)('ssn', '123-45-6789');
        const out = run(shape, streamOf(shape, pieces(`Your number is ${marker}.\nDone ${marker}`, 3)));
        const restored = (who: Principal) => out.map((p) => vault.restore(who, textOf(shape, p.redacted) ?? '')).join('');
        expect(restored(alice)).toBe('Your number is 123-45-6789.\nDone 123-45-6789');
        expect(restored(bob)).toBe(`Your number is ${marker}.\nDone ${marker}`);
      });
    });

  it('redacts an OpenAI tool call argument and keeps choices apart', () => {
    const chunk = (choices: object[]) => ({ data: { id: 'c', object: 'chat.completion.chunk', choices } });
    const args = pieces(`{"ssn": "123-45-6789", "note": "call me"}`, 4);
    const parts = [
      ...args.map((a, k) =>
        chunk([
          {
            index: 0,
            delta: { tool_calls: [{ index: 0, ...(k === 0 ? { id: 't1', type: 'function' } : {}), function: { arguments: a } }] },
            finish_reason: null,
          },
          { index: 1, delta: { content: 'abc 123-'.slice(k % 8, (k % 8) + 1) }, finish_reason: null },
        ]),
      ),
      chunk([{ index: 0, delta: {}, finish_reason: 'tool_calls' }]),
      { data: '[DONE]' },
    ];
    const out = run('openai-chat', parts);
    const shown = JSON.stringify(out.map((p) => p.redacted));
    expect(shown).not.toContain('6789');
    expect(shown).toContain('[redacted:ssn]');
    const calls = out.flatMap(
      (p) => (p.raw.data as { choices?: Array<{ index: number; delta?: { tool_calls?: Array<{ function: { arguments: string } }> } }> }).choices ?? [],
    );
    expect(
      calls
        .flatMap((c) => (c.index === 0 ? (c.delta?.tool_calls ?? []) : []))
        .map((t) => t.function.arguments)
        .join(''),
    ).toBe(args.join(''));
    // The finish chunk carries the tool call's held arguments (redacted); choice 1's text is flushed in a chunk of its own before [DONE].
    type Chunk = {
      choices: Array<{ index: number; finish_reason: unknown; delta: { content?: string; tool_calls?: Array<{ function: { arguments: string } }> } }>;
    };
    const finish = out.find((p) => (p.raw.data as Chunk).choices?.[0]?.finish_reason === 'tool_calls')!;
    expect((finish.redacted.data as Chunk).choices[0]!.delta.tool_calls![0]!.function.arguments).toContain('[redacted:ssn]');
    expect(out.at(-1)!.raw.data).toBe('[DONE]');
    const flushed = (out.at(-2)!.raw.data as Chunk).choices;
    expect(flushed).toEqual([{ index: 1, delta: { content: args.map((_, k) => 'abc 123-'.slice(k % 8, (k % 8) + 1)).join('') }, finish_reason: null }]);
  });

  it('redacts Anthropic partial JSON and Responses function-call arguments across events', () => {
    const json = pieces('{"key": "' + FAKE.openai + '"}', 5);
    const anthropic = run('anthropic', [
      ...json.map((partial_json) => ({
        event: 'content_block_delta',
        data: { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json } },
      })),
      { event: 'content_block_stop', data: { type: 'content_block_stop', index: 1 } },
    ]);
    const responses = run('openai-responses', [
      ...json.map((delta) => ({ data: { type: 'response.function_call_arguments.delta', item_id: 'fc_1', output_index: 0, delta } })),
      { data: { type: 'response.function_call_arguments.done', item_id: 'fc_1', output_index: 0, arguments: json.join('') } },
    ]);
    for (const out of [anthropic, responses]) {
      const shown = JSON.stringify(out.map((p) => p.redacted));
      expect(shown).not.toContain(FAKE.openai.slice(10, 30));
      expect(shown).toContain('[redacted:secret]');
    }
    expect((anthropic.at(-2)!.raw.data as { delta: { partial_json: string } }).delta.partial_json).toBe(json.join(''));
  });

  it("numbers the Responses events it writes in order, its own deltas included, from the provider's first number", () => {
    const numbered = (parts: readonly StreamPart[], from: number): StreamPart[] =>
      parts.map((p, i) => ({ ...p, data: { ...(p.data as object), sequence_number: from + i } }));
    const sequence = (out: readonly ReleasedPart[], side: 'raw' | 'redacted'): unknown[] =>
      out.map((p) => (p[side].data as { sequence_number?: unknown }).sequence_number);
    // Held text is written as a delta of its own before `.done` (and, for a stream cut short, at the body's end).
    const provider = numbered(streamOf('openai-responses', pieces('line one\nSSN 123-45-6789 and the rest', 4)), 7);
    for (const parts of [provider, provider.slice(0, -2)]) {
      const out = run('openai-responses', parts);
      expect(out.length).toBeGreaterThan(parts.length); // a synthesized delta was written
      const expected = out.map((_, i) => 7 + i);
      expect(sequence(out, 'redacted')).toEqual(expected);
      expect(sequence(out, 'raw')).toEqual(expected);
      expect(joined('openai-responses', out)).toBe('line one\nSSN [redacted:ssn] and the rest');
    }
    // What a failed stream still held, for the trail: numbered after what was written.
    const redactor = createStreamRedactor('openai-responses', { redact });
    const sent = provider.slice(0, 4).flatMap((p) => redactor.push(p));
    expect(sequence(sent, 'raw')).toEqual(sent.map((_, i) => 7 + i));
    expect(redactor.held().map((p) => (p.data as { sequence_number: number }).sequence_number)).toEqual([7 + sent.length]);
    // Events without a number (other shapes, `[DONE]`) are left as they are.
    expect(run('openai-chat', streamOf('openai-chat', ['a\n', 'b'])).every((p) => !JSON.stringify(p.raw.data).includes('sequence_number'))).toBe(true);
  });

  it('hands what it still holds to the trail after a failed stream, releasing nothing more', () => {
    const redactor = createStreamRedactor('openai-responses', { redact });
    const parts = streamOf('openai-responses', pieces('line one\nSSN 123-45-6789 held', 3)).slice(0, -2);
    const sent = parts.flatMap((p) => redactor.push(p));
    expect(JSON.stringify(sent.map((p) => p.redacted))).not.toContain('123-45');
    const held = redactor.held();
    expect(held.map((p) => textOf('openai-responses', p))).toEqual(['SSN 123-45-6789 held']);
    expect(redactor.end()).toEqual([]);
  });

  it('refuses a stream that opens more text streams than it holds (fail closed, nothing released)', () => {
    const redactor = createStreamRedactor('anthropic', { redact, maxStreams: 3 });
    const delta = (index: number) => ({ data: { type: 'content_block_delta', index, delta: { type: 'text_delta', text: 'x' } } });
    for (const i of [0, 1, 2]) redactor.push(delta(i));
    expect(() => redactor.push(delta(3))).toThrow(expect.objectContaining({ code: 'ERR_INPUT_TOO_COMPLEX' }));
  });

  it('redacts a text field of an unexpected type with its event, whole', () => {
    const out = run('anthropic', [{ data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: { ssn: '123-45-6789' } } } }]);
    expect(out).toHaveLength(1);
    expect(JSON.stringify(out[0]!.redacted)).toContain('[redacted:ssn]');
  });

  it('holds a PEM block until its END line, so its body is redacted with it', () => {
    const out = run('anthropic', streamOf('anthropic', pieces(`key:\n${FAKE.pem}\nafter`, 6)));
    const shown = JSON.stringify(out.map((p) => p.redacted));
    expect(shown).not.toContain('notarealkey');
    expect(shown).toContain('[redacted:');
  });
});

describe('createStreamRedactor, for any split of the deltas', () => {
  /** `text` cut at the given (sorted, deduplicated) points. */
  const splitAt = (text: string, points: readonly number[]): string[] => {
    const cuts = [...new Set(points.map((p) => p % (text.length + 1)))].sort((a, b) => a - b);
    return [...cuts, text.length].map((end, i) => text.slice(i === 0 ? 0 : cuts[i - 1], end)).filter((d, i) => d !== '' || i === 0);
  };
  const words = fc.array(fc.constantFrom('alpha', 'beta', 'the', 'of', '42', 'x-y', '\n', ' ', 'émoji🎉', '[note]'), { minLength: 1, maxLength: 60 });

  it('loses and adds nothing, and never holds back more than the cap and one delta', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SHAPES),
        words,
        fc.array(fc.nat(), { maxLength: 40 }),
        fc.integer({ min: 8, max: 64 }),
        (shape, ws, points, maxHeldChars) => {
          const text = ws.join(' ');
          const deltas = splitAt(text, points);
          const redactor = createStreamRedactor(shape, { redact: (d) => d, maxHeldChars, keepBackChars: 4 });
          let received = 0;
          let released = '';
          for (const part of streamOf(shape, deltas)) {
            received += textOf(shape, part)?.length ?? 0;
            for (const out of redactor.push(part)) released += textOf(shape, out.raw) ?? '';
            if (!/-----BEGIN/.test(text)) expect(received - released.length).toBeLessThanOrEqual(maxHeldChars + Math.max(...deltas.map((d) => d.length)));
          }
          for (const out of redactor.end()) released += textOf(shape, out.raw) ?? '';
          expect(released).toBe(text);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never lets an SSN within a line through, wherever the deltas split it', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SHAPES), words, words, fc.array(fc.nat(), { minLength: 3, maxLength: 40 }), (shape, before, after, points) => {
        const text = `${before.join(' ')} SSN 123-45-6789 ${after.join(' ')}`;
        const out = run(shape, streamOf(shape, splitAt(text, points)));
        const shown = joined(shape, out);
        expect(shown).not.toContain('123-45-6789');
        expect(shown).toContain('[redacted:ssn]');
      }),
      { numRuns: 200 },
    );
  });
});

describe('forcedCut', () => {
  it('cuts after the last blank before the limit, past `from`', () => {
    expect(forcedCut('aaa bbb ccc', 0, 9)).toBe(8);
    expect(forcedCut('a\nbbbbbbbb', 2, 8)).toBe(8); // no blank after `from`: at the limit
  });

  it('never cuts inside a [redacted:…] marker or a surrogate pair', () => {
    const text = 'x'.repeat(20) + '[redacted:ssn#ab12]' + 'y'.repeat(20);
    expect(forcedCut(text, 0, 30)).toBe(20);
    expect(forcedCut('aaaa🎉bbbb', 0, 5)).toBe(4);
  });
});
