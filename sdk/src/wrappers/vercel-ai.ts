/**
 * Vercel AI SDK (`ai`): a tool whose `execute` runs only through Custos. A denial or an
 * unavailable Custos throws the typed error inside `execute`, which the AI SDK turns into a
 * `tool-error` part the model sees (generateText / streamText), never a tool result.
 */
import { tool } from 'ai';
import type { Tool } from 'ai';
import type { z } from 'zod';
import type { Custos, ToolRef } from '../client.js';

export interface CustosAiToolOptions<S extends z.ZodObject> {
  readonly description: string;
  readonly inputSchema: S;
  /** The tool Custos governs (`server/name` in the bundle's catalog). */
  readonly custosTool: ToolRef;
  readonly execute: (input: z.infer<S>) => unknown;
}

export function custosAiTool<S extends z.ZodObject>(custos: Custos, options: CustosAiToolOptions<S>): Tool {
  const guarded = custos.guard(options.custosTool, (args: Record<string, unknown>) => options.execute(args as z.infer<S>));
  return tool({
    description: options.description,
    inputSchema: options.inputSchema,
    execute: async (input: unknown) => guarded(input as Record<string, unknown>),
  }) as Tool;
}
