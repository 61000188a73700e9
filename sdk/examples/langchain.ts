/**
 * LangChain.js + Custos, offline (no model): the wrapped tool is invoked with a tool call, as
 * an agent's tool node does. With bob's token the PHI read is denied and comes back as a
 * ToolMessage with status "error".
 *   CUSTOS_TOKEN=$(npx custos token --user bob) node sdk/dist/examples/langchain.js
 */
import path from 'node:path';
import type { ToolMessage } from '@langchain/core/messages';
import { z } from 'zod';
import { createCustos } from '../src/index.js';
import { custosLangChainTool } from '../src/wrappers/langchain.js';
import { PATIENT_NOTE, readTextFile, runIfMain } from './shared.js';
import type { ExampleOutcome, ExampleSettings } from './shared.js';

export async function runLangChainExample(settings: ExampleSettings): Promise<ExampleOutcome> {
  const custos = createCustos({ baseUrl: settings.baseUrl, token: settings.token, agent: { name: 'langchain-example', runtime: '@langchain/core' } });
  const readFile = custosLangChainTool(custos, {
    name: 'read_text_file',
    description: 'Read a text file from the workspace',
    schema: z.object({ path: z.string() }),
    custosTool: 'filesystem/read_text_file',
    func: readTextFile,
  });
  const message = (await readFile.invoke({
    type: 'tool_call',
    id: 'call_1',
    name: 'read_text_file',
    args: { path: path.join(settings.workspace, PATIENT_NOTE) },
  })) as ToolMessage;
  return { text: String(message.content), isToolError: message.status === 'error' };
}

runIfMain(import.meta.url, runLangChainExample);
