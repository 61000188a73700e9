import { describe, expect, it } from 'vitest';
import { withoutLogprobs } from './llm-door.js';

const tokens = [{ token: '123', logprob: -0.1, bytes: [49, 50, 51], top_logprobs: [{ token: '123', logprob: -0.1 }] }];

describe('token log-probabilities are withheld', () => {
  it('in Chat Completions answers and chunks (null)', () => {
    expect(withoutLogprobs({ choices: [{ index: 0, message: { content: 'x' }, logprobs: { content: tokens, refusal: null } }] })).toEqual({
      choices: [{ index: 0, message: { content: 'x' }, logprobs: null }],
    });
    expect(withoutLogprobs({ choices: [{ index: 0, delta: { content: '123' }, logprobs: { content: tokens } }] })).toEqual({
      choices: [{ index: 0, delta: { content: '123' }, logprobs: null }],
    });
  });

  it('in Responses answers and every event that carries them ([])', () => {
    const part = { type: 'output_text', text: 'x', annotations: [], logprobs: tokens };
    const answer = { object: 'response', output: [{ type: 'message', content: [part] }] };
    expect(withoutLogprobs(structuredClone(answer))).toEqual({ object: 'response', output: [{ type: 'message', content: [{ ...part, logprobs: [] }] }] });
    expect(withoutLogprobs({ type: 'response.completed', response: structuredClone(answer) })).toMatchObject({
      response: { output: [{ content: [{ logprobs: [] }] }] },
    });
    expect(withoutLogprobs({ type: 'response.output_item.done', item: { content: [structuredClone(part)] } })).toMatchObject({
      item: { content: [{ logprobs: [] }] },
    });
    expect(withoutLogprobs({ type: 'response.content_part.done', part: structuredClone(part) })).toMatchObject({ part: { logprobs: [] } });
    expect(withoutLogprobs({ type: 'response.output_text.delta', delta: '123', logprobs: tokens })).toEqual({
      type: 'response.output_text.delta',
      delta: '123',
      logprobs: [],
    });
  });

  it("leaves everything else alone, a tool call's input included", () => {
    const anthropic = { type: 'message', content: [{ type: 'tool_use', name: 't', input: { logprobs: 'the tool’s own field' } }] };
    expect(withoutLogprobs(structuredClone(anthropic))).toEqual(anthropic);
    expect(withoutLogprobs('[DONE]')).toBe('[DONE]');
    expect(withoutLogprobs({ choices: [{ index: 0, delta: { content: 'x' } }] })).toEqual({ choices: [{ index: 0, delta: { content: 'x' } }] });
  });
});
