/** Upstream tools are exposed as `<server>__<tool>`; server names cannot contain `__`. */
import { CustosError } from '../../kernel/index.js';
import type { ToolRef } from '../../kernel/index.js';

export const SERVER_NAME_PATTERN = /^[a-z0-9][a-z0-9-]*$/;
export const TOOL_NAME_SEPARATOR = '__';

export function isValidServerName(name: string): boolean {
  return name.length <= 64 && SERVER_NAME_PATTERN.test(name);
}

export function namespaceToolName(server: string, tool: string): string {
  return `${server}${TOOL_NAME_SEPARATOR}${tool}`;
}

/** Reverses namespaceToolName; throws ERR_GATEWAY_NOT_FOUND for a name that is not namespaced. */
export function parseToolName(name: string): ToolRef {
  const at = name.indexOf(TOOL_NAME_SEPARATOR);
  const server = at > 0 ? name.slice(0, at) : '';
  const tool = at > 0 ? name.slice(at + TOOL_NAME_SEPARATOR.length) : '';
  if (!isValidServerName(server) || tool.length === 0) {
    throw new CustosError('ERR_GATEWAY_NOT_FOUND', 'The tool name is not of the form <server>__<tool>.');
  }
  return { server, name: tool };
}
