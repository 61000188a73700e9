/** `custos token`, loaded when it runs. */
import { fetchDevToken } from '../identity/dev-idp/index.js';
import type { CommandContext } from './context.js';

export async function printToken(ctx: CommandContext, opts: { user: string; issuer: string; resource?: string }): Promise<void> {
  try {
    ctx.out(await fetchDevToken(opts.issuer, opts.user, opts.resource ? { resource: opts.resource } : undefined));
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    ctx.err(`custos token: could not get a token for "${opts.user}" from ${opts.issuer}: ${reason}`);
    ctx.err('Is the quick start running? Start it with `npm start` in another terminal.');
    ctx.exitCode = 2;
  }
}
