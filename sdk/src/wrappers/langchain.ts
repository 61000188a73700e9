/**
 * LangChain.js (`@langchain/core`): a structured tool whose function runs only through Custos.
 * Invoked with a tool call (as an agent or LangGraph's ToolNode does), a denial or an
 * unavailable Custos comes back as a `ToolMessage` with `status: "error"`; invoked with bare
 * arguments, the typed Custos error is thrown.
 */
import { ToolMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import type { DynamicStructuredTool } from '@langchain/core/tools';
import type { z } from 'zod';
import type { Custos, ToolRef } from '../client.js';
import { CustosSdkError } from '../errors.js';

export interface CustosLangChainToolOptions<S extends z.ZodObject> {
  readonly name: string;
  readonly description: string;
  readonly schema: S;
  /** The tool Custos governs (`server/name` in the bundle's catalog). */
  readonly custosTool: ToolRef;
  readonly func: (input: z.infer<S>) => unknown;
}

export function custosLangChainTool<S extends z.ZodObject>(custos: Custos, options: CustosLangChainToolOptions<S>): DynamicStructuredTool {
  const guarded = custos.guard(options.custosTool, (args: Record<string, unknown>) => options.func(args as z.infer<S>));
  return tool(
    async (input: unknown, config?: { toolCall?: { id?: string } }) => {
      try {
        const output = await guarded(input as Record<string, unknown>);
        return typeof output === 'string' ? output : JSON.stringify(output);
      } catch (err) {
        const id = config?.toolCall?.id;
        if (!(err instanceof CustosSdkError) || id === undefined) throw err;
        return new ToolMessage({ status: 'error', content: `Tool call refused by Custos (${err.code}): ${err.message}`, tool_call_id: id, name: options.name });
      }
    },
    { name: options.name, description: options.description, schema: options.schema },
  ) as unknown as DynamicStructuredTool;
}
