/**
 * A string-keyed map split over many small `Map`s, for MemoryStorage's spaces.
 *
 * A V8 `Map` grows by rehashing every entry into a table twice the size, in one step: at
 * 65k string keys that step takes ~18 ms, at 262k ~50 ms, at 524k ~115 ms (Node 20, this
 * repo's `bench/cluster.ts` machine), and every request in flight waits for it. Split 256
 * ways, each part holds a 256th of the keys and grows in a 256th of the time, at its own
 * moment. A space also holds more than a single `Map`'s 2^24 entries.
 * @module
 */
import { stringHash } from '../string-hash.js';

/** Parts per map: 2^SHARD_BITS. */
const SHARD_BITS = 8;
const SHARD_MASK = (1 << SHARD_BITS) - 1;

/** Which part holds `key`: its hash, folded. */
function shardOf(key: string): number {
  const h = stringHash(key);
  return (h ^ (h >>> SHARD_BITS) ^ (h >>> 16) ^ (h >>> 24)) & SHARD_MASK;
}

export class ShardedMap<V> {
  /** Made on first use, so a space of a few keys costs a few small maps. */
  readonly #shards: (Map<string, V> | undefined)[] = new Array<Map<string, V> | undefined>(SHARD_MASK + 1).fill(undefined);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(key: string): V | undefined {
    return this.#shards[shardOf(key)]?.get(key);
  }

  has(key: string): boolean {
    return this.#shards[shardOf(key)]?.has(key) ?? false;
  }

  set(key: string, value: V): void {
    const index = shardOf(key);
    let shard = this.#shards[index];
    if (shard === undefined) this.#shards[index] = shard = new Map();
    const before = shard.size;
    shard.set(key, value);
    this.#size += shard.size - before;
  }

  /** Whether `key` was there. */
  delete(key: string): boolean {
    const deleted = this.#shards[shardOf(key)]?.delete(key) ?? false;
    if (deleted) this.#size--;
    return deleted;
  }

  /** Every key, in no particular order. */
  keys(): string[] {
    const out = new Array<string>(this.#size);
    let i = 0;
    for (const shard of this.#shards) {
      if (shard === undefined) continue;
      for (const key of shard.keys()) out[i++] = key;
    }
    return out;
  }
}
