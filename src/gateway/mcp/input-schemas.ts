/**
 * Arguments checked against the tool's published MCP `inputSchema` before the pipeline
 * decides. Each schema is compiled once per tool object, i.e. once per tools/list refresh
 * of the upstream (the pool replaces its Tool objects on refresh; a WeakMap forgets the
 * old ones). A hostile or unusable schema (past the input limits, a remote `$ref`, a
 * compile error) fails closed for that tool: every call to it is denied, and it is logged once.
 * Regular expressions in a schema (`pattern`) run on V8's backtracking engine: the schema
 * comes from an upstream the operator configured, and is trusted that far.
 */
import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { findLimitExceeded } from '../../kernel/index.js';
import type { Logger } from '../types.js';

export type InputVerdict = 'valid' | 'invalid' | 'schema_unusable';

/** A schema deeper or larger than this is not compiled (unusable: calls to the tool are denied). */
const SCHEMA_LIMITS = { maxDepth: 32, maxObjectKeys: 1000, maxArrayItems: 1000, maxValues: 20_000, maxStringLength: 4096, maxTotalSize: 256 * 1024 };
const OPTIONS = { strict: false, allErrors: false, addUsedSchema: false, validateFormats: false, loadSchema: undefined } as const;
const DRAFT_2020 = /json-schema\.org\/draft\/2020-12\/schema/;

const compiled = new WeakMap<object, ValidateFunction | 'unusable'>();
let draft7: Ajv | undefined;
let draft2020: Ajv2020 | undefined;

function compilerFor(schema: Record<string, unknown>): Ajv | Ajv2020 {
  if (typeof schema.$schema === 'string' && DRAFT_2020.test(schema.$schema)) return (draft2020 ??= new Ajv2020(OPTIONS));
  return (draft7 ??= new Ajv(OPTIONS));
}

function compile(tool: Tool, server: string, logger: Logger): ValidateFunction | 'unusable' {
  const schema = tool.inputSchema as unknown as Record<string, unknown>;
  const exceeded = findLimitExceeded(schema, SCHEMA_LIMITS);
  if (exceeded) {
    logger.warn({ server, tool: tool.name, limit: exceeded.limit }, 'tool input schema is past the schema limits: calls to the tool are denied');
    return 'unusable';
  }
  try {
    return compilerFor(schema).compile(schema);
  } catch (err) {
    logger.warn(
      { server, tool: tool.name, err: err instanceof Error ? err.name : 'unknown' },
      'tool input schema does not compile: calls to the tool are denied',
    );
    return 'unusable';
  }
}

/** Do these arguments validate against the tool's input schema? */
export function checkToolArguments(server: string, tool: Tool, args: unknown, logger: Logger): InputVerdict {
  let validate = compiled.get(tool);
  if (validate === undefined) {
    validate = compile(tool, server, logger);
    compiled.set(tool, validate);
  }
  if (validate === 'unusable') return 'schema_unusable';
  try {
    return validate(args) ? 'valid' : 'invalid';
  } catch {
    return 'invalid';
  }
}
