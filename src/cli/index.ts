export { runCli, buildProgram } from './program.js';
export type { CliIo } from './context.js';
