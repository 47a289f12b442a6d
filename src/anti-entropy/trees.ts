/**
 * The Merkle trees of this member's replicas: one per partition (a key range), kept
 * current on every write by the replica store's change hook and rebuilt from Storage on
 * start. Trees exist only for partitions that hold keys, so memory follows the data.
 * @module
 */
import type { Storage } from '../storage/storage.js';
import { MerkleTree, entryDigestAt, type Digest } from './merkle-tree.js';
import { KEY_OFFSET, LEAF_BITS, positionOf } from './layout.js';

/**
 * Benchmarks only (not exported from the package): while `enabled` is false every
 * {@link HashTrees} ignores changes, so `bench/anti-entropy.ts` can measure what keeping the
 * trees current costs the write path. The trees are wrong from then on: never switch it off
 * in a member that is meant to repair anything.
 * @internal
 */
export const treeMaintenance = { enabled: true };

/** Partitions whose trees share one Uint32Array. */
const TREES_PER_BLOCK = 64;

export class HashTrees {
  readonly #shift: number;
  readonly #leafShift: number;
  /** By partition; undefined until a key of it is stored (an array: this is looked up on every write). */
  readonly #trees: (MerkleTree | undefined)[];
  /**
   * The trees' words, {@link TREES_PER_BLOCK} partitions to an array, made when the first
   * of them gets a tree. With a tree per partition (4096 by default) on each member, an
   * array each would be thousands of `ArrayBuffer`s for every collection to trace; a tree
   * is then just its object and a view.
   */
  #blocks: (Uint32Array | undefined)[];
  readonly #emptyLeaves: Uint8Array;
  readonly #emptyRoot: Digest;

  constructor(partitions: number) {
    this.#shift = 32 - Math.log2(partitions);
    this.#leafShift = this.#shift - LEAF_BITS;
    this.#trees = new Array<MerkleTree | undefined>(partitions).fill(undefined);
    this.#blocks = new Array<Uint32Array | undefined>(Math.ceil(partitions / TREES_PER_BLOCK)).fill(undefined);
    const empty = new MerkleTree(LEAF_BITS);
    this.#emptyLeaves = empty.level(LEAF_BITS);
    this.#emptyRoot = empty.root();
  }

  /** The partition of a ring position. */
  partitionOf(hash: number): number {
    return this.#shift >= 32 ? 0 : hash >>> this.#shift;
  }

  /** The replica store's change hook: a stored record went from `before` to `after`. */
  change(storageKey: Uint8Array, before: Uint8Array | undefined, after: Uint8Array | undefined): void {
    if (!treeMaintenance.enabled) return;
    // The key is read in place, after its 4-byte position: this runs on every write.
    const hash = positionOf(storageKey);
    const partition = this.partitionOf(hash);
    let tree = this.#trees[partition];
    if (tree === undefined) this.#trees[partition] = tree = this.#newTree(partition);
    tree.update(
      // The segment, as layout.ts's leafOf computes it.
      (hash >>> this.#leafShift) & ((1 << LEAF_BITS) - 1),
      before === undefined ? undefined : entryDigestAt(storageKey, KEY_OFFSET, before),
      after === undefined ? undefined : entryDigestAt(storageKey, KEY_OFFSET, after),
    );
  }

  /** An empty tree for `partition`, in its block's words. */
  #newTree(partition: number): MerkleTree {
    const words = MerkleTree.wordsFor(LEAF_BITS);
    const index = Math.floor(partition / TREES_PER_BLOCK);
    const block = (this.#blocks[index] ??= new Uint32Array(TREES_PER_BLOCK * words));
    const at = (partition % TREES_PER_BLOCK) * words;
    return new MerkleTree(LEAF_BITS, block.subarray(at, at + words));
  }

  /** Rebuilds every tree from the records in `space`. */
  async rebuild(storage: Storage, space: string): Promise<void> {
    this.#trees.fill(undefined);
    // Fresh words too: a partition's new tree must start from zeroes.
    this.#blocks.fill(undefined);
    for await (const [storageKey, value] of storage.iterate(space)) this.change(storageKey, undefined, value);
  }

  /** Partitions that hold at least one key. */
  partitionsWithData(): number[] {
    const empty = this.#emptyRoot;
    const out: number[] = [];
    this.#trees.forEach((tree, partition) => {
      if (tree === undefined) return;
      const root = tree.root();
      if (root.hi !== empty.hi || root.lo !== empty.lo) out.push(partition);
    });
    return out;
  }

  /**
   * Whether this member holds no key of `partition`: no tree, or a root back to empty (an
   * empty root with entries would take a 64-bit collision).
   */
  isEmpty(partition: number): boolean {
    const tree = this.#trees[partition];
    if (tree === undefined) return true;
    const root = tree.root();
    return root.hi === this.#emptyRoot.hi && root.lo === this.#emptyRoot.lo;
  }

  root(partition: number): Digest {
    return this.#trees[partition]?.root() ?? this.#emptyRoot;
  }

  /** The leaf digests of a partition, 8 bytes each. */
  leaves(partition: number): Uint8Array {
    return this.#trees[partition]?.level(LEAF_BITS) ?? this.#emptyLeaves;
  }

  /** Memory held by the trees, in bytes. */
  get byteSize(): number {
    let total = 0;
    for (const tree of this.#trees) total += tree?.byteSize ?? 0;
    return total;
  }
}

/** 8 bytes per digest, big-endian hi then lo: the wire form of a list of roots. */
export function packDigests(digests: readonly Digest[]): Uint8Array {
  const out = new Uint8Array(digests.length * 8);
  const view = new DataView(out.buffer);
  digests.forEach((d, i) => {
    view.setUint32(i * 8, d.hi);
    view.setUint32(i * 8 + 4, d.lo);
  });
  return out;
}

/** Indices at which two packed digest lists differ (a missing entry differs). */
export function differingIndices(a: Uint8Array, b: Uint8Array): number[] {
  const count = Math.max(a.length, b.length) / 8;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    for (let j = i * 8; j < i * 8 + 8; j++) {
      if (a[j] !== b[j]) {
        out.push(i);
        break;
      }
    }
  }
  return out;
}
