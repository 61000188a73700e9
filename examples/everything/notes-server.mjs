#!/usr/bin/env node
// A minimal MCP server that exposes every file under a directory as a text resource
// (file:///<absolute path>), read-only. The everything demo uses it to show that a PHI note
// read as a resource is redacted and audited exactly as the same note read by a tool.
//   node notes-server.mjs DIRECTORY
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { ListResourcesRequestSchema, ReadResourceRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const root = realpathSync(process.argv[2] ?? '.');

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return listFiles(full);
    return e.isFile() ? [full] : [];
  });
}

const server = new Server({ name: 'custos-notes', version: '0.1.0' }, { capabilities: { resources: {} } });
server.setRequestHandler(ListResourcesRequestSchema, async () => ({
  resources: listFiles(root).map((file) => ({ uri: pathToFileURL(file).href, name: path.relative(root, file), mimeType: 'text/plain' })),
}));
server.setRequestHandler(ReadResourceRequestSchema, async (request) => {
  const file = realpathSync(fileURLToPath(request.params.uri));
  if (!file.startsWith(root + path.sep) || !statSync(file).isFile()) throw new Error('not a file under the root');
  return { contents: [{ uri: request.params.uri, mimeType: 'text/plain', text: readFileSync(file, 'utf8') }] };
});
await server.connect(new StdioServerTransport());
