import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CompactTree, LeafTree, consistencyProof, hashChildren, hashLeaf, inclusionProof, merkleRoot, verifyConsistency, verifyInclusion } from './merkle.js';

// Known answers: the Certificate Transparency reference leaves and tree heads (RFC 6962 /
// RFC 9162 trees), as published with the CT and transparency-dev reference implementations.
const unhex = (h: string): Buffer => Buffer.from(h, 'hex');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((d) => hashLeaf(unhex(d)));
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const INCLUSION = [
  {
    index: 0,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];
const CONSISTENCY = [
  {
    first: 2,
    second: 8,
    proof: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'],
  },
  {
    first: 6,
    second: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  {
    first: 2,
    second: 5,
    proof: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'],
  },
];

describe('merkle tree (RFC 9162 2.1)', () => {
  it('hashes leaves with 0x00 and nodes with 0x01', () => {
    expect(hex(hashLeaf(Buffer.alloc(0)))).toBe(
      createHash('sha256')
        .update(Buffer.from([0]))
        .digest('hex'),
    );
    const [a, b] = [LEAVES[0]!, LEAVES[1]!];
    expect(hex(hashChildren(a, b))).toBe(
      createHash('sha256')
        .update(Buffer.concat([Buffer.from([1]), a, b]))
        .digest('hex'),
    );
  });

  it('matches the reference tree heads for sizes 0..8, and the compact tree agrees', () => {
    const compact = new CompactTree();
    expect(hex(compact.root())).toBe(ROOTS[0]);
    for (let n = 0; n <= 8; n += 1) {
      expect(hex(merkleRoot(LEAVES.slice(0, n)))).toBe(ROOTS[n]);
      if (n > 0) {
        compact.append(LEAVES[n - 1]!);
        expect(hex(compact.root())).toBe(ROOTS[n]);
      }
    }
  });

  it('generates and verifies the reference inclusion proofs', () => {
    for (const v of INCLUSION) {
      expect(inclusionProof(LEAVES, v.index, v.size).map(hex)).toEqual(v.proof);
      expect(verifyInclusion(LEAVES[v.index]!, v.index, v.size, v.proof.map(unhex), unhex(ROOTS[v.size]!))).toBe(true);
    }
  });

  it('generates and verifies the reference consistency proofs', () => {
    for (const v of CONSISTENCY) {
      expect(consistencyProof(LEAVES, v.first, v.second).map(hex)).toEqual(v.proof);
      expect(verifyConsistency(v.first, v.second, unhex(ROOTS[v.first]!), unhex(ROOTS[v.second]!), v.proof.map(unhex))).toBe(true);
    }
  });

  const many = Array.from({ length: 40 }, (_, i) => hashLeaf(Buffer.from([i, i * 7])));
  const roots = Array.from({ length: many.length + 1 }, (_, n) => merkleRoot(many.slice(0, n)));

  it('every inclusion proof in every size up to 40 verifies; a wrong leaf, index, size or path does not', () => {
    for (let n = 1; n <= many.length; n += 1) {
      const compact = new CompactTree();
      for (const leaf of many.slice(0, n)) compact.append(leaf);
      expect(compact.root().equals(roots[n]!)).toBe(true);
      for (let i = 0; i < n; i += 1) {
        const proof = inclusionProof(many, i, n);
        expect(verifyInclusion(many[i]!, i, n, proof, roots[n]!)).toBe(true);
        expect(verifyInclusion(many[(i + 1) % many.length]!, i, n, proof, roots[n]!)).toBe(false);
        if (n > 1) expect(verifyInclusion(many[i]!, (i + 1) % n, n, proof, roots[n]!)).toBe(false);
        if (proof.length > 0) {
          expect(verifyInclusion(many[i]!, i, n, proof.slice(0, -1), roots[n]!)).toBe(false);
          expect(verifyInclusion(many[i]!, i, n, [...proof, Buffer.alloc(32)], roots[n]!)).toBe(false);
        }
      }
    }
  });

  it('every consistency proof between sizes up to 40 verifies; a mangled one does not', () => {
    for (let second = 1; second <= many.length; second += 1) {
      for (let first = 0; first <= second; first += 1) {
        const proof = consistencyProof(many, first, second);
        expect(verifyConsistency(first, second, roots[first]!, roots[second]!, proof)).toBe(true);
        if (first > 0 && first < second) {
          const flipped = proof.map((p) => Buffer.from(p));
          flipped[0]![3]! ^= 0x80;
          expect(verifyConsistency(first, second, roots[first]!, roots[second]!, flipped)).toBe(false);
          expect(verifyConsistency(first, second, roots[first]!, roots[second]!, proof.slice(0, -1))).toBe(false);
          expect(verifyConsistency(first, second, roots[first]!, merkleRoot([...many.slice(0, second - 1), many[0]!]), proof)).toBe(false);
        }
      }
    }
  });

  it('the leaf tree (stored subtrees) gives the same roots and proofs as the RFC recursion', () => {
    const tree = new LeafTree(many);
    const reference = new LeafTree(LEAVES);
    expect(hex(reference.root())).toBe(ROOTS[8]);
    for (const v of INCLUSION) expect(reference.inclusionProof(v.index, v.size).map(hex)).toEqual(v.proof);
    for (const v of CONSISTENCY) expect(reference.consistencyProof(v.first, v.second).map(hex)).toEqual(v.proof);
    for (let second = 0; second <= many.length; second += 1) {
      expect(tree.root(second).equals(roots[second]!)).toBe(true);
      for (let i = 0; i < second; i += 1) expect(tree.inclusionProof(i, second)).toEqual(inclusionProof(many, i, second));
      for (let first = 0; first <= second; first += 1) expect(tree.consistencyProof(first, second)).toEqual(consistencyProof(many, first, second));
    }
    expect(() => tree.inclusionProof(40, 40)).toThrow(RangeError);
    expect(() => tree.consistencyProof(5, 41)).toThrow(RangeError);
  });

  it('a leaf tree grown by appending leaves in pieces of any size is the tree built at once, at every size on the way', () => {
    const whole = Buffer.concat(many);
    const grown = new LeafTree();
    expect(grown.size).toBe(0);
    expect(grown.root().equals(roots[0]!)).toBe(true);
    for (const [from, to] of [
      [0, 1],
      [1, 3],
      [3, 3],
      [3, 11],
      [11, 16],
      [16, 17],
      [17, many.length],
    ] as const) {
      grown.append(whole.subarray(32 * from, 32 * to));
      expect(grown.size).toBe(to);
      for (let second = 0; second <= to; second += 1) expect(grown.root(second).equals(roots[second]!)).toBe(true);
      for (let first = 0; first <= to; first += 1) expect(grown.consistencyProof(first, to)).toEqual(consistencyProof(many, first, to));
    }
    expect(() => grown.append(Buffer.alloc(31))).toThrow(RangeError);
  });

  it('refuses out-of-range requests and malformed input', () => {
    expect(() => inclusionProof(LEAVES, 8, 8)).toThrow(RangeError);
    expect(() => consistencyProof(LEAVES, 5, 3)).toThrow(RangeError);
    expect(verifyInclusion(Buffer.alloc(31), 0, 8, [], unhex(ROOTS[8]!))).toBe(false);
    expect(verifyConsistency(8, 6, unhex(ROOTS[8]!), unhex(ROOTS[6]!), [])).toBe(false);
  });
});
