import { describe, expect, it } from 'vitest';
import { createToolClassifier, parseCatalog } from './catalog.js';

function classifierOf(text: string) {
  const { catalog, problems } = parseCatalog(text);
  expect(problems).toEqual([]);
  if (!catalog) throw new Error('catalog expected');
  return createToolClassifier(catalog);
}

describe('catalog', () => {
  it('prefers an exact entry, unions matching globs, else falls back to defaults', () => {
    const classify = classifierOf(
      [
        'tools:',
        '  fs/write_*: { classes: [writes] }',
        '  fs/*_file: { classes: [files] }',
        '  fs/write_file: { classes: [writes, audited] }',
        'defaults: { classes: [unknown] }',
      ].join('\n'),
    );
    expect(classify({ server: 'fs', name: 'write_file' }).classes).toEqual(['audited', 'writes']);
    expect(classify({ server: 'fs', name: 'write_blob' }).classes).toEqual(['writes']);
    expect(classify({ server: 'fs', name: 'write_x_file' }).classes).toEqual(['files', 'writes']);
    expect(classify({ server: 'other', name: 'write_file' }).classes).toEqual(['unknown']);
    expect(classify({ server: 'fs', name: 'read' }).classes).toEqual(['unknown']);
  });

  it('treats glob metacharacters other than * literally', () => {
    const classify = classifierOf('tools:\n  fs/a.b: { classes: [dot] }\n  fs/c.*: { classes: [c] }\n');
    expect(classify({ server: 'fs', name: 'axb' }).classes).toEqual([]);
    expect(classify({ server: 'fs', name: 'c.d' }).classes).toEqual(['c']);
    expect(classify({ server: 'fs', name: 'cxd' }).classes).toEqual([]);
  });

  it('defaults to no classes and no rules for an empty file', () => {
    const { catalog } = parseCatalog('');
    expect(catalog).toEqual({ tools: {}, defaults: { classes: [] }, classification: [] });
  });

  it('rejects unknown keys and bad class names, each as a problem', () => {
    const { catalog, problems } = parseCatalog(
      'tools:\n  fs/x: { classes: [Bad-Class] }\ndefaults: { classes: [], extra: 1 }\nclassification:\n  - { dataClass: phi, paths: ["**"], note: x }\n',
    );
    expect(catalog).toBeNull();
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^catalog\.yaml:2:\d+: tools\.fs\/x\.classes\.0: /);
  });
});
