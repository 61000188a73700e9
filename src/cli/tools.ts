import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { fetchDevToken } from '../identity/index.js';
import { createProtector } from '../protect/index.js';
import type { CommandContext } from './program.js';

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

export function registerTokenCommand(program: Command, ctx: CommandContext): void {
  program
    .command('token')
    .description('Print an access token for a demo user from the dev-only identity provider of the quick start.')
    .requiredOption('-u, --user <name>', 'demo user: alice (clinician) or bob (billing clerk)')
    .option('--issuer <url>', 'the dev provider', 'http://127.0.0.1:8786')
    .option('--resource <url>', 'the audience to ask for (default: the provider\'s Custos resource)')
    .action(async (opts: { user: string; issuer: string; resource?: string }) => {
      try {
        ctx.out(await fetchDevToken(opts.issuer, opts.user, opts.resource ? { resource: opts.resource } : undefined));
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        ctx.err(`custos token: could not get a token for "${opts.user}" from ${opts.issuer}: ${reason}`);
        ctx.err('Is the quick start running? Start it with `npm start` in another terminal.');
        ctx.exitCode = 2;
      }
    });
}

export function registerRedactCommand(program: Command, ctx: CommandContext): void {
  program
    .command('redact')
    .description('Redact secrets, PII and PHI from a file or stdin and print the result (markers [redacted:TYPE]).')
    .argument('[file]', 'file to read (default: stdin)')
    .option('--secret-file', 'treat the input as a secrets file (every KEY=value is redacted)')
    .option('--json', 'parse the input as JSON and redact every string in it')
    .option('--summary', 'print the redaction count and types on stderr')
    .action(async (file: string | undefined, opts: { secretFile?: boolean; json?: boolean; summary?: boolean }) => {
      const text = file ? readFileSync(file, 'utf8') : await readAll(ctx.io.stdin ?? process.stdin);
      const protector = createProtector();
      const input: unknown = opts.json ? JSON.parse(text) : text;
      const result = protector.redact(input, { dataClasses: opts.secretFile ? ['secret_file'] : [] });
      ctx.io.stdout.write(opts.json ? `${JSON.stringify(result.value, null, 2)}\n` : String(result.value));
      if (opts.summary) ctx.err(`redactions: ${result.count} (${result.types.join(', ') || 'none'})`);
    });
}
