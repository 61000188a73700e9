/**
 * OpenAI Agents SDK + Custos, offline (no model): the wrapped tool is invoked exactly as the
 * Agents runner invokes a function tool (`tool.invoke(runContext, argumentsJson)`). With bob's
 * token the PHI read is denied and the runner gets the tool error the model would see.
 *   CUSTOS_TOKEN=$(npx custos token --user bob) node sdk/dist/examples/openai-agents.js
 */
import path from 'node:path';
import { RunContext } from '@openai/agents';
import { z } from 'zod';
import { createCustos } from '../src/index.js';
import { custosAgentsTool } from '../src/wrappers/openai-agents.js';
import { PATIENT_NOTE, readTextFile, runIfMain } from './shared.js';
import type { ExampleOutcome, ExampleSettings } from './shared.js';

export async function runOpenAiAgentsExample(settings: ExampleSettings): Promise<ExampleOutcome> {
  const custos = createCustos({ baseUrl: settings.baseUrl, token: settings.token, agent: { name: 'openai-agents-example', runtime: '@openai/agents' } });
  const readFile = custosAgentsTool(custos, {
    name: 'read_text_file',
    description: 'Read a text file from the workspace',
    parameters: z.object({ path: z.string() }),
    custosTool: 'filesystem/read_text_file',
    execute: readTextFile,
  });
  const result = await readFile.invoke(new RunContext({}), JSON.stringify({ path: path.join(settings.workspace, PATIENT_NOTE) }));
  const text = typeof result === 'string' ? result : JSON.stringify(result);
  return { text, isToolError: text.startsWith('Tool call refused by Custos') };
}

runIfMain(import.meta.url, runOpenAiAgentsExample);
