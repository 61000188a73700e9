/**
 * The Merkle tree of RFC 9162 section 2.1 (the Certificate Transparency tree) over 32-byte
 * leaf hashes: leaf = SHA-256(0x00 ‖ data), node = SHA-256(0x01 ‖ left ‖ right), the split
 * at the largest power of two below n, and the empty tree's hash SHA-256(""). Inclusion
 * and consistency proofs are generated (2.1.3.1, 2.1.4.1) and verified (2.1.3.2, 2.1.4.2)
 * by the RFC's algorithms. Checkpoints sign these roots; an offline verifier recomputes them.
 */
import { hash } from 'node:crypto';

export type Hash = Buffer;

/** One-shot SHA-256 (crypto.hash: about twice as fast as createHash for inputs this small). */
const sha256 = (data: Uint8Array): Hash => hash('sha256', data, 'buffer');

export function hashLeaf(data: Uint8Array): Hash {
  const input = Buffer.allocUnsafe(1 + data.length);
  input[0] = 0x00;
  input.set(data, 1);
  return sha256(input);
}

export function hashChildren(left: Uint8Array, right: Uint8Array): Hash {
  const input = Buffer.allocUnsafe(1 + left.length + right.length);
  input[0] = 0x01;
  input.set(left, 1);
  input.set(right, 1 + left.length);
  return sha256(input);
}

/** The leaf of an audit row: its chain hash (64 hex) as 32 bytes. */
export function hashRowLeaf(chainHashHex: string): Hash {
  const input = Buffer.allocUnsafe(33);
  input[0] = 0x00;
  // A string that is not 64 hex digits writes fewer bytes: hash what the old form hashed then.
  if (input.write(chainHashHex, 1, 'hex') !== 32) return hashLeaf(Buffer.from(chainHashHex, 'hex'));
  return sha256(input);
}

/** The largest power of two strictly below n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[start:end]) over leaf hashes. */
export function merkleRoot(leaves: readonly Hash[], start = 0, end = leaves.length): Hash {
  const n = end - start;
  if (n === 0) return sha256(Buffer.alloc(0));
  if (n === 1) return leaves[start]!;
  const k = splitPoint(n);
  return hashChildren(merkleRoot(leaves, start, start + k), merkleRoot(leaves, start + k, end));
}

/** PATH(index, D[size]): the inclusion proof of leaf `index` in the tree of the first `size` leaves. */
export function inclusionProof(leaves: readonly Hash[], index: number, size = leaves.length): Hash[] {
  if (!Number.isSafeInteger(index) || index < 0 || index >= size || size > leaves.length) throw new RangeError('leaf index outside the tree');
  const path = (m: number, start: number, end: number): Hash[] => {
    const n = end - start;
    if (n === 1) return [];
    const k = splitPoint(n);
    return m < k ? [...path(m, start, start + k), merkleRoot(leaves, start + k, end)] : [...path(m - k, start + k, end), merkleRoot(leaves, start, start + k)];
  };
  return path(index, 0, size);
}

/** PROOF(first, D[second]): that the tree of `first` leaves is a prefix of the tree of `second`. */
export function consistencyProof(leaves: readonly Hash[], first: number, second = leaves.length): Hash[] {
  if (!Number.isSafeInteger(first) || first < 0 || first > second || second > leaves.length) throw new RangeError('tree sizes out of order');
  if (first === 0 || first === second) return [];
  const subproof = (m: number, start: number, end: number, whole: boolean): Hash[] => {
    const n = end - start;
    if (m === n) return whole ? [] : [merkleRoot(leaves, start, end)];
    const k = splitPoint(n);
    return m <= k
      ? [...subproof(m, start, start + k, whole), merkleRoot(leaves, start + k, end)]
      : [...subproof(m - k, start + k, end, false), merkleRoot(leaves, start, start + k)];
  };
  return subproof(first, 0, second, true);
}

const isHash = (h: unknown): h is Uint8Array => h instanceof Uint8Array && h.length === 32;

/** RFC 9162 2.1.3.2. False for any malformed input. */
export function verifyInclusion(leaf: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!isHash(leaf) || !isHash(root) || !Array.isArray(proof) || !proof.every(isHash)) return false;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = hashChildren(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && Buffer.from(r).equals(root);
}

/** RFC 9162 2.1.4.2. False for any malformed input. first = 0 holds for any second root with an empty proof. */
export function verifyConsistency(first: number, second: number, firstRoot: Uint8Array, secondRoot: Uint8Array, proof: readonly Uint8Array[]): boolean {
  if (!isHash(firstRoot) || !isHash(secondRoot) || !Array.isArray(proof) || !proof.every(isHash)) return false;
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || first > second) return false;
  if (first === second) return proof.length === 0 && Buffer.from(firstRoot).equals(secondRoot);
  if (first === 0) return proof.length === 0 && Buffer.from(firstRoot).equals(merkleRoot([]));
  if (proof.length === 0) return false;
  const path = (first & (first - 1)) === 0 ? [firstRoot, ...proof] : [...proof];
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Uint8Array = path[0]!;
  let sr: Uint8Array = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && Buffer.from(fr).equals(firstRoot) && Buffer.from(sr).equals(secondRoot);
}

/**
 * The root of a growing tree without keeping its leaves: the roots of its perfect
 * subtrees, largest first (one per set bit of the size). What the checkpointer holds.
 */
export class CompactTree {
  private readonly stack: Array<{ size: number; hash: Hash }> = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  append(leaf: Hash): void {
    let node = { size: 1, hash: leaf };
    while (this.stack.length > 0 && this.stack[this.stack.length - 1]!.size === node.size) {
      const left = this.stack.pop()!;
      node = { size: left.size * 2, hash: hashChildren(left.hash, node.hash) };
    }
    this.stack.push(node);
    this.count += 1;
  }

  root(): Hash {
    if (this.stack.length === 0) return merkleRoot([]);
    let acc = this.stack[this.stack.length - 1]!.hash;
    for (let i = this.stack.length - 2; i >= 0; i -= 1) acc = hashChildren(this.stack[i]!.hash, acc);
    return acc;
  }
}

/**
 * A tree over a list of leaves that keeps every aligned perfect subtree's hash (about 2n
 * hashes, built in one pass, and extended as leaves are appended), so any root, inclusion proof
 * or consistency proof over a prefix costs O(log² n) instead of rehashing the leaves. What
 * provers and verifiers use.
 */
export class LeafTree {
  /**
   * levels[k] holds MTH of leaves [i·2^k, (i+1)·2^k) at bytes [32i, 32i+32) of its first
   * `used[k]` bytes: one buffer per level (grown by doubling), no object per hash.
   */
  private readonly levels: Buffer[] = [];
  private readonly used: number[] = [];
  private readonly pair = Buffer.alloc(65, 0x01);

  /** The leaves as a list of hashes, or as one buffer of 32 bytes per leaf. */
  constructor(leaves: readonly Hash[] | Uint8Array = new Uint8Array(0)) {
    if (leaves instanceof Uint8Array) this.append(leaves);
    else {
      const first = Buffer.allocUnsafe(32 * leaves.length);
      leaves.forEach((leaf, i) => first.set(leaf, 32 * i));
      this.append(first);
    }
  }

  /** Appends leaves (32 bytes each) and every perfect subtree they complete. */
  append(leaves: Uint8Array): void {
    if (leaves.length % 32 !== 0) throw new RangeError('leaves must be 32 bytes each');
    this.extend(0, leaves.length).set(leaves, this.used[0]! - leaves.length);
    for (let k = 0; ; k += 1) {
      const pairs = Math.floor(this.used[k]! / 64);
      const done = (this.used[k + 1] ?? 0) / 32;
      if (pairs === done) return;
      const level = this.levels[k]!;
      const next = this.extend(k + 1, 32 * (pairs - done));
      for (let i = done; i < pairs; i += 1) {
        level.copy(this.pair, 1, 64 * i, 64 * i + 64);
        // A string digest written in place: no buffer allocated per node.
        next.write(hash('sha256', this.pair, 'binary'), 32 * i, 'latin1');
      }
    }
  }

  /** Makes room for `bytes` more at level k, counts them as used, and gives the level's buffer. */
  private extend(k: number, bytes: number): Buffer {
    const used = (this.used[k] ??= 0) + bytes;
    const level = this.levels[k];
    if (!level || level.length < used) {
      const grown = Buffer.allocUnsafe(Math.max(used, 2 * (level?.length ?? 0), 1024));
      level?.copy(grown, 0, 0, this.used[k]);
      this.levels[k] = grown;
    }
    this.used[k] = used;
    return this.levels[k]!;
  }

  private node(level: number, index: number): Hash {
    return this.levels[level]!.subarray(32 * index, 32 * index + 32);
  }

  get size(): number {
    return (this.used[0] ?? 0) / 32;
  }

  /** MTH(D[start:end]). */
  root(end = this.size, start = 0): Hash {
    const n = end - start;
    if (n === 0) return merkleRoot([]);
    if ((n & (n - 1)) === 0 && start % n === 0) return this.node(Math.log2(n), start / n);
    const k = splitPoint(n);
    return hashChildren(this.root(start + k, start), this.root(end, start + k));
  }

  inclusionProof(index: number, size = this.size): Hash[] {
    if (!Number.isSafeInteger(index) || index < 0 || index >= size || size > this.size) throw new RangeError('leaf index outside the tree');
    const path: Hash[] = [];
    let [start, end, m] = [0, size, index];
    while (end - start > 1) {
      const k = splitPoint(end - start);
      if (m < k) {
        path.push(this.root(end, start + k));
        end = start + k;
      } else {
        path.push(this.root(start + k, start));
        start += k;
        m -= k;
      }
    }
    return path.reverse();
  }

  consistencyProof(first: number, second = this.size): Hash[] {
    if (!Number.isSafeInteger(first) || first < 0 || first > second || second > this.size) throw new RangeError('tree sizes out of order');
    if (first === 0 || first === second) return [];
    const proof: Hash[] = [];
    let [start, end, m, whole] = [0, second, first, true];
    while (m !== end - start) {
      const k = splitPoint(end - start);
      if (m <= k) {
        proof.push(this.root(end, start + k));
        end = start + k;
      } else {
        proof.push(this.root(start + k, start));
        start += k;
        m -= k;
        whole = false;
      }
    }
    if (!whole) proof.push(this.root(end, start));
    return proof.reverse();
  }
}
