/** `custos redact`, loaded when it runs: it needs the protect module and nothing else of ours. */
import { readFileSync } from 'node:fs';
import { createProtector } from '../protect/index.js';
import type { CommandContext } from './context.js';

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

export async function redact(ctx: CommandContext, file: string | undefined, opts: { secretFile?: boolean; json?: boolean; summary?: boolean }): Promise<void> {
  const text = file ? readFileSync(file, 'utf8') : await readAll(ctx.io.stdin ?? process.stdin);
  const input: unknown = opts.json ? JSON.parse(text) : text;
  const result = createProtector().redact(input, { dataClasses: opts.secretFile ? ['secret_file'] : [] });
  await ctx.write(opts.json ? `${JSON.stringify(result.value, null, 2)}\n` : String(result.value));
  if (opts.summary) ctx.err(`redactions: ${result.count} (${result.types.join(', ') || 'none'})`);
}
