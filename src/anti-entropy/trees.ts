/**
 * The Merkle trees of this member's replicas: one per partition (a key range), kept
 * current on every write by the replica store's change hook and rebuilt from Storage on
 * start. Trees exist only for partitions that hold keys, so memory follows the data.
 * @module
 */
import type { Storage } from '../storage/storage.js';
import { MerkleTree, entryDigest, type Digest } from './merkle-tree.js';
import { LEAF_BITS, leafOf, parseDataKey } from './layout.js';

export class HashTrees {
  readonly #partitions: number;
  readonly #shift: number;
  readonly #trees = new Map<number, MerkleTree>();
  readonly #emptyLeaves: Uint8Array;
  readonly #emptyRoot: Digest;

  constructor(partitions: number) {
    this.#partitions = partitions;
    this.#shift = 32 - Math.log2(partitions);
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
    const { hash, key } = parseDataKey(storageKey);
    const partition = this.partitionOf(hash);
    let tree = this.#trees.get(partition);
    if (tree === undefined) this.#trees.set(partition, (tree = new MerkleTree(LEAF_BITS)));
    tree.update(
      leafOf(hash, this.#partitions),
      before === undefined ? undefined : entryDigest(key, before),
      after === undefined ? undefined : entryDigest(key, after),
    );
  }

  /** Rebuilds every tree from the records in `space`. */
  async rebuild(storage: Storage, space: string): Promise<void> {
    this.#trees.clear();
    for await (const [storageKey, value] of storage.iterate(space)) this.change(storageKey, undefined, value);
  }

  /** Partitions that hold at least one key. */
  partitionsWithData(): number[] {
    const empty = this.#emptyRoot;
    const out: number[] = [];
    for (const [partition, tree] of this.#trees) {
      const root = tree.root();
      if (root.hi !== empty.hi || root.lo !== empty.lo) out.push(partition);
    }
    return out.sort((a, b) => a - b);
  }

  root(partition: number): Digest {
    return this.#trees.get(partition)?.root() ?? this.#emptyRoot;
  }

  /** The leaf digests of a partition, 8 bytes each. */
  leaves(partition: number): Uint8Array {
    return this.#trees.get(partition)?.level(LEAF_BITS) ?? this.#emptyLeaves;
  }

  /** Memory held by the trees, in bytes. */
  get byteSize(): number {
    let total = 0;
    for (const tree of this.#trees.values()) total += tree.byteSize;
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
