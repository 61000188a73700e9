/**
 * The `custos` command. Commands are thin: they parse flags, call a module's public
 * surface and print. `runCli` returns the exit code (0 ok, 1 check failed, 2 usage or
 * config error) so tests drive it in-process. Long-running commands resolve once started.
 *
 * Startup stays small: this file and commands.ts load only commander and the kernel; each
 * command's implementation (and the modules it needs) is imported when that command runs.
 */
import { Command, CommanderError } from 'commander';
import { isCustosError } from '../kernel/index.js';
import { registerCommands } from './commands.js';
import type { CliIo, CommandContext } from './context.js';
import { isBrokenPipe, watchOutput } from './output.js';

export function buildProgram(ctx: CommandContext): Command {
  const program = new Command('custos')
    .description("Custos: the control plane AI agents' tool calls go through (identity, policy, redaction, audit).")
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => ctx.print(s), writeErr: (s) => ctx.io.stderr.write(s) })
    .exitOverride();
  registerCommands(program, ctx);
  return program;
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number | undefined> {
  const output = watchOutput(io.stdout);
  const ctx: CommandContext = {
    io,
    out: (line) => output.print(`${line}\n`),
    print: (chunk) => output.print(chunk),
    err: (line) => io.stderr.write(`${line}\n`),
    write: (chunk) => output.write(chunk),
    exitCode: undefined,
  };
  let code: number;
  try {
    await buildProgram(ctx).parseAsync([...argv], { from: 'user' });
    code = ctx.exitCode ?? 0;
  } catch (err) {
    code = output.gone.aborted && err === output.gone.reason ? (ctx.exitCode ?? 0) : reportError(ctx, err);
  }
  if (output.gone.aborted && !isBrokenPipe(output.gone.reason)) {
    ctx.err('custos: the output could not be written');
    return 2;
  }
  return code;
}

function reportError(ctx: CommandContext, err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
  if (isCustosError(err)) ctx.err(`custos: ${err.code}: ${err.message}`);
  else ctx.err(`custos: unexpected error: ${err instanceof Error ? err.message : String(err)}`);
  return 2;
}
