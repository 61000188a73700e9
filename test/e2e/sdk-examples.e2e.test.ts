/**
 * The SDK's framework examples (sdk/examples) against the quick start: each framework runs the
 * governed tool itself, offline, with no model; bob's PHI read is denied and the denial reaches
 * the framework as a tool error, the tool never running; alice's read returns redacted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLangChainExample } from '../../sdk/examples/langchain.js';
import { runOpenAiAgentsExample } from '../../sdk/examples/openai-agents.js';
import { runVercelAiExample } from '../../sdk/examples/vercel-ai.js';
import type { ExampleOutcome, ExampleSettings } from '../../sdk/examples/shared.js';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';

const EXAMPLES: ReadonlyArray<[string, (s: ExampleSettings) => Promise<ExampleOutcome>, string]> = [
  ['OpenAI Agents SDK', runOpenAiAgentsExample, 'openai-agents-example'],
  ['LangChain.js', runLangChainExample, 'langchain-example'],
  ['Vercel AI SDK', runVercelAiExample, 'vercel-ai-example'],
];

describe('framework examples against the quick start', () => {
  let h: Harness;
  let bob = '';
  let alice = '';
  beforeAll(async () => {
    h = await startHarness();
    [alice, bob] = await Promise.all([h.token('alice'), h.token('bob')]);
  });
  afterAll(async () => h?.close());

  it.each(EXAMPLES)('%s: a denial reaches the framework as a tool error; the deny row names bob', async (_name, run, agentName) => {
    const outcome = await run({ baseUrl: h.custos.url, token: bob, workspace: h.workspace });
    expect(outcome.isToolError).toBe(true);
    expect(outcome.text).toContain('phi_requires_clinician');
    expect(outcome.text).not.toContain('123-45-6789');
    expect((await h.auditRecords()).at(-1)).toMatchObject({
      event: 'deny',
      user: { sub: 'bob' },
      agent: { name: agentName },
      tool: { name: 'read_text_file' },
    });
  });

  it.each(EXAMPLES)('%s: an allowed call returns the output redacted', async (_name, run) => {
    const outcome = await run({ baseUrl: h.custos.url, token: alice, workspace: h.workspace });
    expect(outcome.isToolError).toBe(false);
    expect(outcome.text).toContain('[redacted:ssn]');
    expect(outcome.text).not.toContain('123-45-6789');
  });
});
