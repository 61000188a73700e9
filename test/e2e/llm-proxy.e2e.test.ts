/**
 * The model-provider proxy end to end: the official `openai` and `@anthropic-ai/sdk` clients,
 * streaming and not, through Custos to a local server speaking each provider's API that
 * records what it receives. No PHI or secret arrives there; the answer comes back intact
 * with the user's pseudonyms restored (for her only); the trail holds neither the values nor
 * the mapping; every request is a model row naming the provider as its egress destination.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE } from '../../src/protect/fake-credentials.test-support.js';
import { extendQuickstartBundle, startHarness } from './harness.js';
import type { Harness } from './harness.js';
import { startModelProvider } from './model-provider.js';
import type { ModelProviderServer } from './model-provider.js';

const SSN = '123-45-6789';
const EMAIL = 'jane.doe@example.com';
const SECRET = 'DB_PASSWORD=Tr0ub4dor-x9Q2-zz7';
const PROMPT = `Patient SSN ${SSN}, contact ${EMAIL}. Config: ${SECRET}`;
const PROVIDER_KEY = 'provider-key-for-tests-7f3a9c';

const PERMIT_MODELS = `@id("model-requests")
@reason("staff_may_use_models")
permit (principal, action == Custos::Action::"model_request", resource)
when { resource.server == "openai" || resource.server == "anthropic" };
`;

describe('model-provider proxy (official SDK clients)', () => {
  let h: Harness;
  let provider: ModelProviderServer;
  let bundle: string;
  let alice: string;

  beforeAll(async () => {
    provider = await startModelProvider();
    bundle = extendQuickstartBundle(mkdtempSync(path.join(tmpdir(), 'custos-llm-bundle-')), { policies: { 'models.cedar': PERMIT_MODELS } });
    process.env.CUSTOS_E2E_PROVIDER_KEY = PROVIDER_KEY;
    h = await startHarness({
      bundleDir: bundle,
      configure: (raw) => ({
        ...raw,
        llm: {
          providers: [
            { name: 'openai', api: 'openai', url: provider.url, apiKey: 'env:CUSTOS_E2E_PROVIDER_KEY' },
            { name: 'anthropic', api: 'anthropic', url: provider.url, apiKey: 'env:CUSTOS_E2E_PROVIDER_KEY' },
            { name: 'unapproved', api: 'openai', url: provider.url },
          ],
          pseudonyms: { enabled: true },
        },
      }),
    });
    alice = await h.token('alice');
  }, 90_000);

  afterAll(async () => {
    await h?.close();
    await provider?.close();
    rmSync(bundle, { recursive: true, force: true });
  });

  const openai = (token: string, name = 'openai') => new OpenAI({ apiKey: token, baseURL: `${h.custos.url}/llm/${name}/v1`, maxRetries: 0 });
  const anthropic = (token: string) => new Anthropic({ apiKey: token, baseURL: `${h.custos.url}/llm/anthropic`, maxRetries: 0 });

  /** Nothing sensitive reached the provider since `from`, and the provider got its own key, never the user's token. */
  function expectCleanArrivals(from: number, count: number): void {
    const arrived = provider.received.slice(from);
    expect(arrived).toHaveLength(count);
    for (const r of arrived) {
      const text = JSON.stringify(r.body);
      for (const value of [SSN, EMAIL, 'Tr0ub4dor']) expect(text).not.toContain(value);
      expect(text).toMatch(/\[redacted:ssn#[0-9a-f]+\]/);
      expect(`${r.headers.authorization ?? ''}${r.headers['x-api-key'] ?? ''}`).toContain(PROVIDER_KEY);
      expect(JSON.stringify(r.headers)).not.toContain(alice);
    }
  }

  async function expectTrailClean(): Promise<void> {
    const rows = JSON.stringify(await h.auditRecords());
    for (const value of [SSN, EMAIL, 'Tr0ub4dor', PROVIDER_KEY]) expect(rows).not.toContain(value);
  }

  it('OpenAI chat completions, not streamed and streamed, tool results included: redacted out, restored back', async () => {
    const from = provider.received.length;
    const messages = [
      { role: 'system' as const, content: 'You are careful.' },
      { role: 'assistant' as const, content: null, tool_calls: [{ id: 't1', type: 'function' as const, function: { name: 'lookup', arguments: '{}' } }] },
      { role: 'tool' as const, tool_call_id: 't1', content: `chart: SSN ${SSN}` },
      { role: 'user' as const, content: PROMPT },
    ];
    const plain = await openai(alice).chat.completions.create({ model: 'gpt-test', messages });
    expect(plain.choices[0]?.message.content).toBe(`Echo: ${PROMPT}`);
    const stream = await openai(alice).chat.completions.create({ model: 'gpt-test', messages, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(`Echo: ${PROMPT}`);
    expectCleanArrivals(from, 2);
    expect(JSON.stringify(provider.received[from]!.body.messages)).toContain('chart: SSN [redacted:ssn#');
    const rows = (await h.auditRecords()).filter((r) => r.kind === 'model' && r.tool?.server === 'openai');
    expect(rows.map((r) => r.event)).toEqual(['intent', 'result', 'intent', 'result']);
    for (const r of rows) expect(r).toMatchObject({ user: { sub: 'alice' }, tool: { name: 'chat.completions' }, egress: { destination: provider.url } });
    await expectTrailClean();
  });

  it('OpenAI responses, not streamed and streamed', async () => {
    const from = provider.received.length;
    const plain = await openai(alice).responses.create({ model: 'gpt-test', input: PROMPT });
    expect(plain.output_text).toBe(`Echo: ${PROMPT}`);
    const stream = await openai(alice).responses.create({ model: 'gpt-test', input: [{ role: 'user', content: PROMPT }], stream: true });
    let text = '';
    for await (const event of stream) if (event.type === 'response.output_text.delta') text += event.delta;
    expect(text).toBe(`Echo: ${PROMPT}`);
    expectCleanArrivals(from, 2);
    await expectTrailClean();
  });

  it('Anthropic messages, not streamed and streamed (x-api-key carries the user token)', async () => {
    const from = provider.received.length;
    const plain = await anthropic(alice).messages.create({ model: 'claude-test', max_tokens: 100, messages: [{ role: 'user', content: PROMPT }] });
    expect(plain.content[0]).toMatchObject({ type: 'text', text: `Echo: ${PROMPT}` });
    const stream = anthropic(alice).messages.stream({
      model: 'claude-test',
      max_tokens: 100,
      messages: [{ role: 'user', content: [{ type: 'text', text: PROMPT }] }],
    });
    expect(await stream.finalText()).toBe(`Echo: ${PROMPT}`);
    expectCleanArrivals(from, 2);
    expect(provider.received.at(-1)!.headers['anthropic-version']).toBeDefined();
    await expectTrailClean();
  });

  it('a streamed answer that splits an SSN and a secret across events reaches each SDK client redacted, and the trail holds no clear value', async () => {
    // The model writes the values itself, in deltas of 3 characters: each value spans 4 to 15 events.
    const answer = `Found it.\nPatient SSN ${SSN}, token ${FAKE.githubPat} on file\nDone`;
    provider.script({ text: answer, deltaChars: 3 });
    try {
      const messages = [{ role: 'user' as const, content: 'what is on file?' }];
      const chat = await openai(alice).chat.completions.create({ model: 'gpt-test', messages, stream: true });
      let chatText = '';
      for await (const chunk of chat) chatText += chunk.choices[0]?.delta.content ?? '';
      const responses = await openai(alice).responses.create({ model: 'gpt-test', input: 'what is on file?', stream: true });
      let responsesText = '';
      for await (const event of responses) if (event.type === 'response.output_text.delta') responsesText += event.delta;
      const anthropicText = await anthropic(alice).messages.stream({ model: 'claude-test', max_tokens: 100, messages }).finalText();
      // The SDK's accumulating helper as well: it follows output items, content parts and sequence numbers.
      // The last line is held back and written as a delta of its own before `.done`: the numbers a client
      // would resume after (`starting_after`) stay unique and in order, its delta's included.
      const runner = openai(alice).responses.stream({ model: 'gpt-test', input: 'what is on file?' });
      const events: Array<{ type: string; sequence_number: number }> = [];
      for await (const event of runner) events.push(event);
      const accumulated = (await runner.finalResponse()).output_text;
      const numbers = events.map((e) => e.sequence_number);
      expect(numbers).toEqual(numbers.map((_, i) => i)); // the provider's numbers start at 0
      expect(events.filter((e) => e.type === 'response.output_text.done')).toHaveLength(1);
      expect(events.findIndex((e) => e.type === 'response.output_text.done')).toBeGreaterThan(
        events.findLastIndex((e) => e.type === 'response.output_text.delta'),
      );
      for (const text of [chatText, responsesText, anthropicText, accumulated]) {
        expect(text).toMatch(/^Found it\.\nPatient SSN \[redacted:ssn\], token \[redacted:[a-z_-]+\] on file\nDone$/);
        expect(text).not.toContain(FAKE.githubPat.slice(4, 16));
      }
      // The trail's copy: the released events, redacted; joined, their text holds no clear value either.
      const rows = (await h.auditRecords()).filter((r) => r.kind === 'model' && r.event === 'result').slice(-4);
      expect(rows.map((r) => r.tool?.name)).toEqual(['chat.completions', 'responses', 'messages', 'responses']);
      for (const row of rows) {
        const json = JSON.stringify(row);
        const stream = (row.output as { redacted: { stream: Array<{ data: Record<string, any> }> } }).redacted.stream; // eslint-disable-line @typescript-eslint/no-explicit-any
        const streamed = stream
          .map(
            ({ data: d }) =>
              d?.choices?.[0]?.delta?.content ??
              (d?.type === 'content_block_delta' || d?.type === 'response.output_text.delta' ? (d.delta.text ?? d.delta) : ''),
          )
          .join('');
        expect(streamed).toMatch(/Patient SSN \[redacted:ssn\], token \[redacted:[a-z_-]+\] on file/);
        for (const value of [SSN, FAKE.githubPat.slice(4, 16)]) {
          expect(streamed).not.toContain(value);
          expect(json).not.toContain(value);
        }
        expect(row).toMatchObject({ user: { sub: 'alice' }, redactions: { types: expect.arrayContaining(['ssn']) } });
      }
    } finally {
      provider.script(undefined);
    }
  });

  it('token log-probabilities, which hold the answer one token per string, are withheld, whole and streamed, for the client and the trail', async () => {
    provider.script({ text: `Patient SSN ${SSN} on file`, deltaChars: 3 });
    try {
      const messages = [{ role: 'user' as const, content: 'what is on file?' }];
      const whole = await openai(alice).chat.completions.create({ model: 'gpt-test', messages, logprobs: true, top_logprobs: 1 });
      expect(whole.choices[0]!.message.content).toBe('Patient SSN [redacted:ssn] on file');
      expect(whole.choices[0]!.logprobs).toBeNull();
      const chunks = [];
      for await (const chunk of await openai(alice).chat.completions.create({ model: 'gpt-test', messages, logprobs: true, top_logprobs: 1, stream: true }))
        chunks.push(chunk);
      expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Patient SSN [redacted:ssn] on file');
      expect(chunks.every((c) => (c.choices[0]?.logprobs ?? null) === null)).toBe(true);
      // The provider did send them, one token per 3 characters: so without the withholding the SSN's digits would come back in pieces.
      const rows = (await h.auditRecords()).filter((r) => r.kind === 'model' && r.event === 'result').slice(-2);
      expect(rows).toHaveLength(2);
      const pieces = ['"123"', '"-45"', '"-67"']; // the SSN's tokens as JSON strings
      for (const row of rows) for (const piece of pieces) expect(JSON.stringify(row)).not.toContain(piece);
      for (const piece of pieces) expect(JSON.stringify([whole, chunks])).not.toContain(piece);
    } finally {
      provider.script(undefined);
    }
  });

  it('a provider failing mid-stream: what was held back never reaches the client, the result row records it redacted with the error', async () => {
    // Dropped after 15 deltas of 3 characters (of 20): the second line, with the whole SSN, is still held back.
    provider.script({ text: `First line.\nPatient SSN ${SSN} and more text after it`, deltaChars: 3, dropAfter: 15 });
    try {
      const response = await fetch(`${h.custos.url}/llm/openai/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${alice}` },
        body: JSON.stringify({ model: 'gpt-test', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(response.status).toBe(200);
      let received = '';
      await expect(
        (async () => {
          for await (const chunk of response.body!) received += Buffer.from(chunk).toString('utf8');
        })(),
      ).rejects.toThrow();
      const text = [...received.matchAll(/^data: (\{.*\})$/gm)]
        .map((m) => (JSON.parse(m[1]!) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '')
        .join('');
      expect(text).toBe('First line.\n');
      const row = (await h.auditRecords()).filter((r) => r.kind === 'model' && r.event === 'result').at(-1)!;
      expect(row.output).toMatchObject({ error: 'ERR_GATEWAY_PROVIDER_FAILED' });
      const json = JSON.stringify(row);
      expect(json).toContain('Patient SSN [redacted:ssn]');
      expect(json).not.toContain(SSN);
    } finally {
      provider.script(undefined);
    }
  });

  it("restores pseudonyms for the same user only: bob sending alice's marker gets the marker back", async () => {
    await openai(alice).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: PROMPT }] });
    const marker = /\[redacted:ssn#[0-9a-f]+\]/.exec(JSON.stringify(provider.received.at(-1)!.body))![0];
    const bob = await h.token('bob');
    const answer = await openai(bob).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: `what is ${marker}?` }] });
    expect(answer.choices[0]?.message.content).toBe(`Echo: what is ${marker}?`);
    expect(answer.choices[0]?.message.content).not.toContain(SSN);
  });

  it('refuses a request without a token (401, an auth_failure row) and a provider the policy does not allow (403, a deny row naming it)', async () => {
    const before = provider.received.length;
    await expect(openai('not-a-token').chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({
      status: 401,
    });
    const denied = openai(alice, 'unapproved').chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    await expect(denied).rejects.toMatchObject({ status: 403 });
    expect(provider.received.length).toBe(before);
    const rows = await h.auditRecords();
    expect(rows.some((r) => r.event === 'auth_failure' && r.kind === 'model')).toBe(true);
    expect(rows.filter((r) => r.event === 'deny').at(-1)).toMatchObject({
      kind: 'model',
      user: { sub: 'alice' },
      tool: { server: 'unapproved', name: 'chat.completions' },
      egress: { destination: provider.url },
    });
  });
});
