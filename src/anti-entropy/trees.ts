/**
 * The Merkle trees of this member's replicas: one per partition (a key range), kept
 * current on every write by the replica store's change hook and rebuilt from Storage on
 * start. Trees exist only for partitions that hold keys, so memory follows the data.
 * @module
 */
import type { Storage } from '../storage/storage.js';
import { MerkleTree, entryDigestAt, updateTreeAt, type Digest } from './merkle-tree.js';
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
/** Words of one partition's tree. */
const TREE_WORDS = MerkleTree.wordsFor(LEAF_BITS);

export class HashTrees {
  readonly #shift: number;
  readonly #leafShift: number;
  /** By partition: 1 once a key of it was stored, which gives it a tree. */
  readonly #present: Uint8Array;
  /**
   * The trees' words, {@link TREES_PER_BLOCK} partitions to an array, made when the first
   * of them gets a tree. A member has a tree per partition (4096 by default), kept current
   * on every write; an object and an `ArrayBuffer` each were thousands of objects for every
   * collection to trace. Writes update the words in place (`updateTreeAt`); a
   * {@link MerkleTree} over a partition's words is made only when asked for its digests.
   */
  readonly #blocks: (Uint32Array | undefined)[];
  readonly #emptyLeaves: Uint8Array;
  readonly #emptyRoot: Digest;

  constructor(partitions: number) {
    this.#shift = 32 - Math.log2(partitions);
    this.#leafShift = this.#shift - LEAF_BITS;
    this.#present = new Uint8Array(partitions);
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
    const index = Math.floor(partition / TREES_PER_BLOCK);
    const block = (this.#blocks[index] ??= new Uint32Array(TREES_PER_BLOCK * TREE_WORDS));
    this.#present[partition] = 1;
    updateTreeAt(
      block,
      (partition % TREES_PER_BLOCK) * TREE_WORDS,
      LEAF_BITS,
      // The segment, as layout.ts's leafOf computes it.
      (hash >>> this.#leafShift) & ((1 << LEAF_BITS) - 1),
      before === undefined ? undefined : entryDigestAt(storageKey, KEY_OFFSET, before),
      after === undefined ? undefined : entryDigestAt(storageKey, KEY_OFFSET, after),
    );
  }

  /** The tree of `partition` over its words in the block, or undefined when it has none. */
  #tree(partition: number): MerkleTree | undefined {
    if (this.#present[partition] !== 1) return undefined;
    const at = (partition % TREES_PER_BLOCK) * TREE_WORDS;
    return new MerkleTree(LEAF_BITS, this.#blocks[Math.floor(partition / TREES_PER_BLOCK)]!.subarray(at, at + TREE_WORDS));
  }

  /** Rebuilds every tree from the records in `space`. */
  async rebuild(storage: Storage, space: string): Promise<void> {
    this.#present.fill(0);
    // Fresh words too: a partition's new tree must start from zeroes.
    this.#blocks.fill(undefined);
    for await (const [storageKey, value] of storage.iterate(space)) this.change(storageKey, undefined, value);
  }

  /** Partitions that hold at least one key. */
  partitionsWithData(): number[] {
    const out: number[] = [];
    for (let partition = 0; partition < this.#present.length; partition++) {
      if (!this.isEmpty(partition)) out.push(partition);
    }
    return out;
  }

  /**
   * Whether this member holds no key of `partition`: no tree, or a root back to empty (an
   * empty root with entries would take a 64-bit collision).
   */
  isEmpty(partition: number): boolean {
    const root = this.root(partition);
    return root.hi === this.#emptyRoot.hi && root.lo === this.#emptyRoot.lo;
  }

  root(partition: number): Digest {
    return this.#tree(partition)?.root() ?? this.#emptyRoot;
  }

  /** The leaf digests of a partition, 8 bytes each. */
  leaves(partition: number): Uint8Array {
    return this.#tree(partition)?.level(LEAF_BITS) ?? this.#emptyLeaves;
  }

  /** Memory held by the trees, in bytes. */
  get byteSize(): number {
    return this.#present.reduce((n, present) => n + present, 0) * TREE_WORDS * 4;
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
