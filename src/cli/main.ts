#!/usr/bin/env node
import { runCli } from './index.js';

const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin });
if (code !== undefined) process.exitCode = code;
