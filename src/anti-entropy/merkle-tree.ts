/**
 * An incrementally maintained hash tree over one key range (a ring partition), for
 * anti-entropy between replicas.
 *
 * Sources: DeCandia et al., "Dynamo", SOSP 2007, §4.7 (one Merkle tree per key range,
 * compared top-down so only differing branches are walked); Merkle, "A Digital Signature
 * Based on a Conventional Encryption Function", CRYPTO 1987; riak_core `hashtree` (keys
 * grouped into fixed hash segments, trees exchanged level by level, updated in place).
 *
 * Shape: a complete binary tree with 2^leafBits leaves ("segments"). Which leaf a key belongs
 * to is the caller's choice, but both replicas must choose identically (e.g. the key's ring
 * hash bits just below the partition bits).
 *
 * Leaves are the XOR of the 64-bit digests of the entries they hold. XOR makes an insert,
 * an overwrite and a delete each O(1) and independent of order, with no per-key state kept
 * here: the price is that the caller must report every change exactly (the digest that left
 * and the one that arrived), since an entry XORed in twice cancels out. Entry digests mix the
 * key, so two different entry sets give equal leaves only by a 64-bit collision.
 *
 * Interior nodes are a hash of their two children (not their XOR), so moving a digest from
 * one leaf to another changes the root. The one exception is deliberate: a node whose two
 * children are both {@link EMPTY_DIGEST} is itself empty, so an empty tree of any size has
 * root {@link EMPTY_DIGEST} and a tree whose entries were all deleted returns to it exactly.
 * Interior nodes are recomputed lazily: an update marks its leaf's ancestors dirty (stopping
 * at the first that already is), and {@link MerkleTree.root} rehashes only dirty paths, so a
 * burst of updates costs one rehash per distinct dirty node.
 *
 * Layout: one Uint32Array. The first 4 words per leaf hold the nodes in heap order (node i
 * has children 2i and 2i+1, the root is 1, leaf j is 2^leafBits + j), two words per node
 * (hi, lo); after them, one dirty bit per interior node, 32 to a word, so that an update's
 * walk up the dirty flags stays within a cache line or two. One array, so that a member's
 * thousands of trees can share a few large ones (see {@link MerkleTree.wordsFor}) and be
 * kept current in place by {@link updateTreeAt}, with no object per tree (./trees.ts). 16
 * bytes per leaf plus a bit.
 *
 * Wire format of a node digest: 8 bytes, hi then lo, each big-endian. The hash functions
 * below are part of the wire contract: every replica must compute them identically.
 * @module
 */
import { ValidationError } from '../errors.js';

/** A 64-bit digest as two unsigned 32-bit words; cheap to XOR and compare. */
export interface Digest {
  readonly hi: number;
  readonly lo: number;
}

/** The digest of an empty leaf, and the root of an empty tree of any size. */
export const EMPTY_DIGEST: Digest = Object.freeze({ hi: 0, lo: 0 });

/** The outcome of comparing two trees. */
export interface MerkleDiff {
  /** Leaf indices whose digests differ, ascending. */
  leaves: number[];
  /** Node digests compared (one per remote node fetched). */
  comparisons: number;
}

/**
 * Fetches the remote tree's digests of `nodes` (indices within level `depth`, ascending) as
 * 8 bytes per node in the order asked. The remote answers with {@link MerkleTree.nodes}.
 */
export type RemoteLevel = (depth: number, nodes: readonly number[]) => Promise<Uint8Array>;

/** Largest `leafBits`: 65,536 leaves, about 1 MiB of nodes. */
export const MAX_LEAF_BITS = 16;

// The two MurmurHash3 seeds giving the high and low digest words: the first 64 bits of the
// fractional part of pi, chosen only to be arbitrary and distinct. Part of the wire contract.
const SEED_HI = 0x243f6a88;
const SEED_LO = 0x85a308d3;

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function mixK(k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

function mixH(h: number, k: number): number {
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

// Entry framing is assembled in a reused buffer so a digest allocates nothing but its result.
// Frames past SCRATCH_MAX (large values) get a buffer of their own rather than pinning one.
const SCRATCH_MAX = 1 << 16;
let scratch = new Uint8Array(256);
let scratchView = new DataView(scratch.buffer);

/**
 * The digest of one entry: MurmurHash3 x86 32-bit, once with each of two seeds, over the
 * frame `u32le(key.length) || key || value` (`value` being the encoded record).
 *
 * The length prefix rather than a separator byte keeps the frame unambiguous: keys may hold
 * 0x00, and with `key || 0x00 || value` the entries ("a\0", "b") and ("a", "\0b") would
 * share a frame. Both words are computed in one pass; the result equals
 * `murmurhash3js-revisited`'s `x86.hash32(frame, seed)` for each seed (tested), and is the
 * same in every process.
 */
export function entryDigest(key: Uint8Array, value: Uint8Array): Digest {
  return entryDigestAt(key, 0, value);
}

/** Longest key copied into the frame byte by byte; longer ones are copied natively. */
const SHORT_KEY = 64;

/**
 * {@link entryDigest} of the key that fills `source` from `keyStart` on, without a view or a
 * copy of it: the write path hands storage keys (ring position, then key) straight in.
 */
export function entryDigestAt(source: Uint8Array, keyStart: number, value: Uint8Array): Digest {
  const keyLength = source.length - keyStart;
  const n = 4 + keyLength + value.length;
  let bytes = scratch;
  let view = scratchView;
  if (n > bytes.length) {
    let size = bytes.length;
    while (size < n) size *= 2;
    bytes = new Uint8Array(size);
    view = new DataView(bytes.buffer);
    if (size <= SCRATCH_MAX) {
      scratch = bytes;
      scratchView = view;
    }
  }
  view.setUint32(0, keyLength, true);
  if (keyLength <= SHORT_KEY) {
    for (let i = 0; i < keyLength; i++) bytes[4 + i] = source[keyStart + i]!;
  } else {
    bytes.set(keyStart === 0 ? source : source.subarray(keyStart), 4);
  }
  bytes.set(value, 4 + keyLength);

  let a = SEED_HI;
  let b = SEED_LO;
  const blocks = n & ~3;
  for (let i = 0; i < blocks; i += 4) {
    const k = mixK(view.getUint32(i, true));
    a = mixH(a, k);
    b = mixH(b, k);
  }
  const rest = n & 3;
  if (rest !== 0) {
    let k = 0;
    if (rest === 3) k ^= (bytes[blocks + 2] ?? 0) << 16;
    if (rest >= 2) k ^= (bytes[blocks + 1] ?? 0) << 8;
    k ^= bytes[blocks] ?? 0;
    k = mixK(k);
    a ^= k;
    b ^= k;
  }
  return { hi: fmix(a ^ n), lo: fmix(b ^ n) };
}

/**
 * Sets node `i` to the hash of its children: MurmurHash3 x86 32-bit (both seeds) over the 16
 * bytes `u32le(left.hi) u32le(left.lo) u32le(right.hi) u32le(right.lo)`, except that two
 * empty children make an empty node.
 */
function hashChildren(nodes: Uint32Array, i: number): void {
  const l = 4 * i; // words of child 2i, then child 2i+1
  const lh = nodes[l] ?? 0;
  const ll = nodes[l + 1] ?? 0;
  const rh = nodes[l + 2] ?? 0;
  const rl = nodes[l + 3] ?? 0;
  if ((lh | ll | rh | rl) === 0) {
    nodes[2 * i] = 0;
    nodes[2 * i + 1] = 0;
    return;
  }
  const k0 = mixK(lh);
  const k1 = mixK(ll);
  const k2 = mixK(rh);
  const k3 = mixK(rl);
  const a = mixH(mixH(mixH(mixH(SEED_HI, k0), k1), k2), k3);
  const b = mixH(mixH(mixH(mixH(SEED_LO, k0), k1), k2), k3);
  nodes[2 * i] = fmix(a ^ 16);
  nodes[2 * i + 1] = fmix(b ^ 16);
}

/**
 * {@link MerkleTree.update} of the tree kept from word `base` of `words` (its
 * {@link MerkleTree.wordsFor} words, e.g. in a block shared by many trees), making no object:
 * how a member keeps thousands of trees current on every write without an object per tree.
 * `leaf` is not checked: the caller computes it.
 */
export function updateTreeAt(words: Uint32Array, base: number, leafBits: number, leaf: number, before: Digest | undefined, after: Digest | undefined): void {
  let hi = 0;
  let lo = 0;
  if (before !== undefined) {
    hi ^= before.hi;
    lo ^= before.lo;
  }
  if (after !== undefined) {
    hi ^= after.hi;
    lo ^= after.lo;
  }
  if ((hi | lo) === 0) return;
  const leaves = 1 << leafBits;
  const dirtyAt = base + 4 * leaves;
  const n = leaves + leaf;
  const at = base + 2 * n;
  words[at] = words[at]! ^ hi;
  words[at + 1] = words[at + 1]! ^ lo;
  for (let p = n >>> 1; p >= 1; p >>>= 1) {
    const word = dirtyAt + (p >>> 5);
    const bit = 1 << (p & 31);
    if ((words[word]! & bit) !== 0) break;
    words[word] = words[word]! | bit;
  }
}

function validateLeafBits(leafBits: number): void {
  if (!Number.isInteger(leafBits) || leafBits < 0 || leafBits > MAX_LEAF_BITS) {
    throw new ValidationError(`leafBits must be an integer from 0 to ${MAX_LEAF_BITS}, got ${String(leafBits)}`);
  }
}

interface LevelRequest {
  readonly depth: number;
  readonly nodes: readonly number[];
}

/**
 * The top-down comparison, written once for both drivers: it yields the nodes it needs from
 * the remote, level by level, and is resumed with their bytes. Level 0 asks for the root;
 * each later level asks only for the two children of every node that differed above. A
 * differing node always has a differing child (else its hash would match), so at most k
 * nodes differ per level for k differing leaves: ≤ 1 + 2·k·leafBits comparisons.
 */
function* descend(nodes: Uint32Array, leafBits: number): Generator<LevelRequest, MerkleDiff, Uint8Array> {
  let comparisons = 0;
  let request: number[] = [0];
  for (let depth = 0; ; depth++) {
    const bytes: unknown = yield { depth, nodes: request };
    if (!(bytes instanceof Uint8Array) || bytes.length !== 8 * request.length) {
      const got = bytes instanceof Uint8Array ? `${bytes.length} bytes` : typeof bytes;
      throw new ValidationError(
        `remote level ${depth}: expected ${8 * request.length} bytes for ${request.length} nodes, got ${got}`,
      );
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const first = 1 << depth;
    const differing: number[] = [];
    for (let r = 0; r < request.length; r++) {
      const j = request[r] ?? 0;
      const h = first + j;
      comparisons++;
      if (view.getUint32(8 * r) !== nodes[2 * h] || view.getUint32(8 * r + 4) !== nodes[2 * h + 1]) {
        differing.push(j);
      }
    }
    if (depth === leafBits) return { leaves: differing, comparisons };
    if (differing.length === 0) return { leaves: [], comparisons };
    request = new Array<number>(2 * differing.length);
    for (let r = 0; r < differing.length; r++) {
      const j = differing[r] ?? 0;
      request[2 * r] = 2 * j;
      request[2 * r + 1] = 2 * j + 1;
    }
  }
}

/**
 * A hash tree over one key range. Pure: no I/O, no timers. Not safe to share between
 * concurrent writers without the caller's own ordering (JavaScript's single thread suffices).
 */
export class MerkleTree {
  /** log2 of the number of leaves; also the depth of the leaf level. */
  readonly leafBits: number;
  /** Number of leaves (segments): 2^leafBits. */
  readonly leaves: number;

  // Heap order, two words (hi, lo) per node; node 0 is unused. From word #dirtyAt on, a bit
  // per interior node i (bit i % 32 of word i / 32): set where its cached digest is stale.
  // Always closed upwards: a dirty node's ancestors are dirty, which is what lets update()
  // stop at the first dirty ancestor.
  readonly #nodes: Uint32Array;
  readonly #dirtyAt: number;

  /**
   * An empty tree.
   * @param leafBits 0 to 16: the tree has 2^leafBits leaves. More leaves mean fewer keys
   *   shipped per differing key (≈ 1 + (M−1)/2^leafBits for M keys in the range) at the
   *   cost of 16 bytes per leaf and ~2 more comparisons per differing key per extra bit.
   * @param words where to keep the tree: {@link MerkleTree.wordsFor} zeroed words, e.g. a
   *   `subarray` of one array shared by many trees; by default an array of its own.
   * @throws {ValidationError} if `leafBits` is not an integer from 0 to 16, or `words` is
   *   not of the length `leafBits` needs.
   */
  constructor(leafBits: number, words?: Uint32Array) {
    validateLeafBits(leafBits);
    this.leafBits = leafBits;
    this.leaves = 2 ** leafBits;
    const length = MerkleTree.wordsFor(leafBits);
    if (words !== undefined && words.length !== length) {
      throw new ValidationError(`a tree of ${leafBits} leafBits needs ${length} words, got ${words.length}`);
    }
    this.#nodes = words ?? new Uint32Array(length);
    this.#dirtyAt = 4 * this.leaves;
  }

  /** The length of the Uint32Array a tree of `leafBits` keeps itself in: 4 words per leaf, and the dirty bits. */
  static wordsFor(leafBits: number): number {
    const leaves = 2 ** leafBits;
    return 4 * leaves + Math.ceil(leaves / 32);
  }

  /**
   * Applies a change to one key in `leaf`: its entry digest goes from `before` to `after`
   * (`undefined` for absent, so an insert has no `before` and a delete no `after`). O(1)
   * amortised; independent of the order changes are applied in. Both digests must be exact:
   * a `before` that is not in the leaf corrupts it until the same digest is applied again.
   * @throws {ValidationError} if `leaf` is not an integer in [0, leaves).
   */
  update(leaf: number, before: Digest | undefined, after: Digest | undefined): void {
    if (!Number.isInteger(leaf) || leaf < 0 || leaf >= this.leaves) {
      throw new ValidationError(`leaf must be an integer from 0 to ${this.leaves - 1}, got ${String(leaf)}`);
    }
    updateTreeAt(this.#nodes, 0, this.leafBits, leaf, before, after);
  }

  /** The root digest, rehashing only the paths updated since it was last computed. */
  root(): Digest {
    this.#flush();
    return { hi: this.#nodes[2] ?? 0, lo: this.#nodes[3] ?? 0 };
  }

  /**
   * The digests of all 2^depth nodes at `depth` (0 = the root, `leafBits` = the leaves), left
   * to right, 8 bytes each (hi then lo, big-endian). A fresh array the caller may keep.
   * @throws {ValidationError} if `depth` is not an integer from 0 to `leafBits`.
   */
  level(depth: number): Uint8Array {
    this.#validateDepth(depth);
    this.#flush();
    const count = 2 ** depth;
    const out = new Uint8Array(8 * count);
    const view = new DataView(out.buffer);
    const nodes = this.#nodes;
    for (let j = 0, w = 2 * count; j < count; j++, w += 2) {
      view.setUint32(8 * j, nodes[w] ?? 0);
      view.setUint32(8 * j + 4, nodes[w + 1] ?? 0);
    }
    return out;
  }

  /**
   * The digests of the given nodes at `depth`, in the order given, 8 bytes each as in
   * {@link MerkleTree.level}: what a replica answers to a {@link RemoteLevel} request.
   * @throws {ValidationError} on a bad depth or a node index outside [0, 2^depth).
   */
  nodes(depth: number, indices: readonly number[]): Uint8Array {
    this.#validateDepth(depth);
    this.#flush();
    const count = 2 ** depth;
    const out = new Uint8Array(8 * indices.length);
    const view = new DataView(out.buffer);
    const nodes = this.#nodes;
    for (let r = 0; r < indices.length; r++) {
      const j = indices[r];
      if (j === undefined || !Number.isInteger(j) || j < 0 || j >= count) {
        throw new ValidationError(`node index at depth ${depth} must be an integer from 0 to ${count - 1}, got ${String(j)}`);
      }
      const w = 2 * (count + j);
      view.setUint32(8 * r, nodes[w] ?? 0);
      view.setUint32(8 * r + 4, nodes[w + 1] ?? 0);
    }
    return out;
  }

  /** Bytes of typed-array memory this tree holds: 16 per leaf, and 4 per 32 leaves for the dirty bits. */
  get byteSize(): number {
    return this.#nodes.byteLength;
  }

  /**
   * The leaves whose digests differ between `local` and a remote tree of the same `leafBits`,
   * descending only into differing subtrees: `remoteLevel` is called once per level, for the
   * children of the nodes that differed at the level above, and never past a level where
   * nothing differed. At most 1 + 2·k·leafBits comparisons for k differing leaves.
   *
   * `local` is compared as it was when `diff` was called (a snapshot, so updates during the
   * exchange do not mix two states); the remote should likewise answer from one state, or
   * the result is a best effort that the next exchange corrects.
   * @throws {ValidationError} if the remote answers with the wrong number of bytes; and
   *   whatever `remoteLevel` rejects with.
   */
  static async diff(local: MerkleTree, remoteLevel: RemoteLevel): Promise<MerkleDiff> {
    local.#flush();
    const walk = descend(local.#nodes.slice(0, local.#dirtyAt), local.leafBits);
    let step = walk.next();
    while (step.done !== true) step = walk.next(await remoteLevel(step.value.depth, step.value.nodes));
    return step.value;
  }

  /**
   * {@link MerkleTree.diff} between two trees in this process, synchronously.
   * @throws {ValidationError} if the trees have different `leafBits`.
   */
  static diffLocal(a: MerkleTree, b: MerkleTree): MerkleDiff {
    if (a.leafBits !== b.leafBits) {
      throw new ValidationError(`cannot compare trees of ${a.leafBits} and ${b.leafBits} leafBits`);
    }
    a.#flush();
    const walk = descend(a.#nodes, a.leafBits);
    let step = walk.next();
    while (step.done !== true) step = walk.next(b.nodes(step.value.depth, step.value.nodes));
    return step.value;
  }

  #validateDepth(depth: number): void {
    if (!Number.isInteger(depth) || depth < 0 || depth > this.leafBits) {
      throw new ValidationError(`depth must be an integer from 0 to ${this.leafBits}, got ${String(depth)}`);
    }
  }

  #isDirty(i: number): boolean {
    return (this.#nodes[this.#dirtyAt + (i >>> 5)]! & (1 << (i & 31))) !== 0;
  }

  #flush(): void {
    if (this.#isDirty(1)) this.#rehash(1);
  }

  // Children before parents, visiting only dirty interior nodes; depth ≤ 16, so recursion is fine.
  #rehash(i: number): void {
    const nodes = this.#nodes;
    const left = 2 * i;
    if (left < this.leaves) {
      if (this.#isDirty(left)) this.#rehash(left);
      if (this.#isDirty(left + 1)) this.#rehash(left + 1);
    }
    hashChildren(nodes, i);
    const word = this.#dirtyAt + (i >>> 5);
    nodes[word] = nodes[word]! & ~(1 << (i & 31));
  }
}
