/** What the three framework examples share: where the quick start is, and the local tool they govern. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface ExampleSettings {
  /** Custos' base URL (the quick start: http://127.0.0.1:8787). */
  readonly baseUrl: string;
  /** A user's bearer token: `npx custos token --user bob` (bob may not read PHI) or `--user alice`. */
  readonly token: string;
  /** The quick start's workspace. */
  readonly workspace: string;
}

export interface ExampleOutcome {
  /** What the framework handed back for the call (the tool's output, or its tool error). */
  readonly text: string;
  /** True when the framework reported the call as a tool error. */
  readonly isToolError: boolean;
}

/** The tool the frameworks run themselves: read a text file (governed as `filesystem/read_text_file`). */
export function readTextFile(input: { path: string }): string {
  return readFileSync(input.path, 'utf8');
}

export const PATIENT_NOTE = 'phi/patient-0001.md';

/** Settings from the environment (CUSTOS_URL, CUSTOS_TOKEN, CUSTOS_WORKSPACE). */
export function settingsFromEnv(): ExampleSettings {
  const token = process.env.CUSTOS_TOKEN;
  if (!token) throw new Error('Set CUSTOS_TOKEN, e.g. CUSTOS_TOKEN=$(npx custos token --user bob), with the quick start (npm start) running.');
  const here = path.dirname(fileURLToPath(import.meta.url));
  return {
    baseUrl: process.env.CUSTOS_URL ?? 'http://127.0.0.1:8787',
    token,
    workspace: process.env.CUSTOS_WORKSPACE ?? path.resolve(here, '../../../examples/quickstart/workspace'),
  };
}

/** Runs `example` when the file is the program node was started with. */
export function runIfMain(moduleUrl: string, example: (s: ExampleSettings) => Promise<ExampleOutcome>): void {
  if (process.argv[1] === undefined || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  example(settingsFromEnv()).then(
    (outcome) => console.log(`${outcome.isToolError ? 'tool error' : 'tool result'}: ${outcome.text}`),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
