/**
 * OpenAI Agents SDK (`@openai/agents`): a function tool whose `execute` runs only through
 * Custos. A denial, an unreachable Custos (fail closed) or a refused request reaches the agent
 * as a tool error (the `errorFunction` output the model sees), never as the tool's result.
 */
import { tool } from '@openai/agents';
import type { FunctionTool, RunContext } from '@openai/agents';
import type { z } from 'zod';
import type { Custos, ToolRef } from '../client.js';
import { CustosSdkError } from '../errors.js';

export interface CustosAgentsToolOptions<S extends z.ZodObject> {
  readonly name: string;
  readonly description: string;
  readonly parameters: S;
  /** The tool Custos governs (`server/name` in the bundle's catalog). */
  readonly custosTool: ToolRef;
  readonly execute: (input: z.infer<S>) => unknown;
}

/** What the model sees when Custos stops the call. */
export function custosToolError(_context: RunContext<unknown>, error: unknown): string {
  if (error instanceof CustosSdkError) return `Tool call refused by Custos (${error.code}): ${error.message}`;
  return `An error occurred while running the tool: ${error instanceof Error ? error.message : String(error)}`;
}

export function custosAgentsTool<S extends z.ZodObject>(custos: Custos, options: CustosAgentsToolOptions<S>): FunctionTool {
  const guarded = custos.guard(options.custosTool, (args: Record<string, unknown>) => options.execute(args as z.infer<S>));
  return tool({
    name: options.name,
    description: options.description,
    parameters: options.parameters as never,
    execute: async (input) => {
      const output = await guarded(input as Record<string, unknown>);
      return typeof output === 'string' ? output : JSON.stringify(output);
    },
    errorFunction: custosToolError,
  }) as unknown as FunctionTool;
}
