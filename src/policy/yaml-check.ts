/**
 * Parses a bundle's YAML file against a zod schema, naming every problem with its file,
 * line and column (`catalog.yaml:3:5: tools.fs/x.classes.0: must be lower_snake_case`).
 */
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';

export interface YamlParse<T> {
  readonly value: T | null;
  readonly problems: readonly string[];
}

export function parseYamlFile<S extends z.ZodType>(text: string, file: string, schema: S): YamlParse<z.infer<S>> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const at = (offset: number): string => {
    const { line, col } = lines.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  if (doc.errors.length > 0) return { value: null, problems: doc.errors.map((e) => `${at(e.pos[0])}: YAML error: ${e.message.split('\n')[0]}`) };
  const result = schema.safeParse(doc.toJS() ?? {});
  if (result.success) return { value: result.data, problems: [] };
  const problems = result.error.issues.map((issue) => {
    const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    const where = path.length > 0 ? path.map(String).join('.') : '(top level)';
    const inner = issue.code === 'invalid_key' ? issue.issues.map((i) => i.message).join(', ') : '';
    return `${locate(doc, path, at, file)}: ${where}: ${inner ? `key ${inner}` : issue.message}`;
  });
  return { value: null, problems };
}

/** The position of the deepest node of `path` that exists (the file itself when none does). */
function locate(doc: ReturnType<typeof parseDocument>, path: readonly (string | number)[], at: (offset: number) => string, file: string): string {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range) return at(range[0]);
  }
  return `${file}:1:1`;
}
