/**
 * Vercel AI SDK + Custos, offline: `generateText` runs with a scripted mock model (from
 * `ai/test`) that asks for the tool, so the AI SDK itself executes it. With bob's token the
 * PHI read is denied and the step carries a `tool-error` part.
 *   CUSTOS_TOKEN=$(npx custos token --user bob) node sdk/dist/examples/vercel-ai.js
 */
import path from 'node:path';
import { generateText } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { z } from 'zod';
import { createCustos } from '../src/index.js';
import { custosAiTool } from '../src/wrappers/vercel-ai.js';
import { PATIENT_NOTE, readTextFile, runIfMain } from './shared.js';
import type { ExampleOutcome, ExampleSettings } from './shared.js';

const USAGE = {
  inputTokens: { total: 0, noCache: 0, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 0, text: 0, reasoning: 0 },
};

export async function runVercelAiExample(settings: ExampleSettings): Promise<ExampleOutcome> {
  const custos = createCustos({ baseUrl: settings.baseUrl, token: settings.token, agent: { name: 'vercel-ai-example', runtime: 'ai' } });
  const model = new MockLanguageModelV3({
    doGenerate: async () => ({
      content: [
        { type: 'tool-call', toolCallId: 'call_1', toolName: 'read_text_file', input: JSON.stringify({ path: path.join(settings.workspace, PATIENT_NOTE) }) },
      ],
      finishReason: { unified: 'tool-calls', raw: undefined },
      usage: USAGE,
      warnings: [],
    }),
  });
  const result = await generateText({
    model,
    prompt: "Summarise patient 0001's note.",
    tools: {
      read_text_file: custosAiTool(custos, {
        description: 'Read a text file from the workspace',
        inputSchema: z.object({ path: z.string() }),
        custosTool: 'filesystem/read_text_file',
        execute: readTextFile,
      }),
    },
  });
  const part = result.content.find((p) => p.type === 'tool-error' || p.type === 'tool-result');
  if (part?.type === 'tool-error') return { text: part.error instanceof Error ? part.error.message : String(part.error), isToolError: true };
  return { text: part?.type === 'tool-result' ? String(part.output) : '', isToolError: false };
}

runIfMain(import.meta.url, runVercelAiExample);
