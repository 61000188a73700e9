import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fileKindsOf } from './file-kinds.js';
import { remembered } from './memo.js';
import { extractTenants, tenantOfPath } from './tenants.js';

describe('remembered', () => {
  it('computes each key once, answers undefined values from memory, and stays within its bound', () => {
    const asked: string[] = [];
    const of = remembered((k) => {
      asked.push(k);
      return k.startsWith('x') ? undefined : k.length;
    }, 3);
    expect([of('ab'), of('ab'), of('xy'), of('xy')]).toEqual([2, 2, undefined, undefined]);
    expect(asked).toEqual(['ab', 'xy']);
    of('c');
    of('d'); // the fourth key empties the memo first
    of('ab');
    expect(asked).toEqual(['ab', 'xy', 'c', 'd', 'ab']);
  });

  it('does not keep a key past maxKeyChars', () => {
    let n = 0;
    const of = remembered(() => ++n, 10, 4);
    expect([of('long key'), of('long key'), of('key'), of('key')]).toEqual([1, 2, 3, 3]);
  });
});

describe('the memos answer as the work they remember', () => {
  it('fileKindsOf: the same kinds on the first and every later call, for paths of any shape', () => {
    const segment = fc.constantFrom('.aws', 'credentials', '.ssh', 'id_rsa', 'phi', 'notes.txt', '.env', 'KEY4.DB', '.config', 'gcloud', 'x');
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 6 }), (segs) => {
        const p = '/' + segs.join('/');
        const first = fileKindsOf(p).map((k) => k.id);
        expect(fileKindsOf(p).map((k) => k.id)).toEqual(first);
        expect(Object.isFrozen(fileKindsOf(p))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("extractTenants: each glob of a bundle remembered apart, and a new bundle's globs used at once", () => {
    const a = { arguments: [], paths: ['**/tenants/{tenant}/**'] };
    const b = { arguments: [], paths: ['/orgs/{tenant}/**'] };
    const call = (p: string) => ({ tool: { server: 's', name: 'read' }, kind: 'tool' as const, arguments: { path: p } });
    for (let i = 0; i < 2; i++) {
      expect(extractTenants(call('/data/tenants/acme/x.txt'), a)).toEqual(['acme']);
      expect(extractTenants(call('/orgs/globex/y.txt'), a)).toEqual([]);
      expect(extractTenants(call('/orgs/globex/y.txt'), b)).toEqual(['globex']);
      expect(extractTenants(call('/data/tenants/acme/x.txt'), b)).toEqual([]);
    }
    expect(tenantOfPath('**/tenants/{tenant}/**', '/data/tenants/acme/x.txt')).toBe('acme');
  });
});
