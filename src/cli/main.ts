#!/usr/bin/env node
import { runCli } from './index.js';

// A reader that closes the pipe early (`custos audit export | head -1`) is not an error: the
// command stops writing (see output.ts), and a late EPIPE must not crash the process either.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin });
if (code !== undefined) process.exitCode = code;
