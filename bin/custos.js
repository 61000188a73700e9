#!/usr/bin/env node
// The `custos` command: a thin launcher for the compiled CLI (`npm run build` makes dist/).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('custos: dist/ is missing. Run `npm run build` (or `npm start`) first.');
  process.exit(2);
}
await import(entry.href);
