/**
 * Where a replica's keys live in Storage: behind the 4-byte big-endian ring position of the
 * key. Keys are then ordered by hash, so each partition — and each Merkle leaf (segment)
 * within it — is one contiguous range: anti-entropy lists the keys of a differing segment
 * with one range scan, and handoff streams a partition the same way (riak_core's hashtree
 * orders its keys by segment for the same reason).
 * @module
 */
import { hashKey } from '../ring/hash.js';
import { allocBytes } from '../bytes.js';

/** Segments per partition tree: 2^LEAF_BITS. 64 keeps a 100k-key partition set's trees small. */
export const LEAF_BITS = 6;

/** Where the key starts in its storage key (after the 4-byte ring position). */
export const KEY_OFFSET = 4;

/** Storage key of `key`: its ring position, then the key. */
export function dataKey(key: Uint8Array, hash = hashKey(key)): Uint8Array {
  // From a slab (../bytes.ts): views of it are taken on the write path.
  const out = allocBytes(4 + key.length);
  out[0] = hash >>> 24;
  out[1] = (hash >>> 16) & 0xff;
  out[2] = (hash >>> 8) & 0xff;
  out[3] = hash & 0xff;
  out.set(key, 4);
  return out;
}

/** The ring position and the key (a copy) of a storage key made by `dataKey`. */
export function parseDataKey(storageKey: Uint8Array): { hash: number; key: Uint8Array } {
  return { hash: positionOf(storageKey), key: storageKey.slice(KEY_OFFSET) };
}

/** The ring position in front of a storage key made by `dataKey`. */
export function positionOf(storageKey: Uint8Array): number {
  return ((storageKey[0]! << 24) | (storageKey[1]! << 16) | (storageKey[2]! << 8) | storageKey[3]!) >>> 0;
}

/** The key of a storage key made by `dataKey`, as a view into it: no copy, so for the hot paths. */
export function keyView(storageKey: Uint8Array): Uint8Array {
  return storageKey.subarray(KEY_OFFSET);
}

function bits(partitions: number): number {
  return Math.log2(partitions);
}

/** The segment of a ring position within its partition. */
export function leafOf(hash: number, partitions: number): number {
  const shift = 32 - bits(partitions) - LEAF_BITS;
  return (hash >>> shift) & ((1 << LEAF_BITS) - 1);
}

function prefix(position: number): Uint8Array {
  return new Uint8Array([position >>> 24, (position >>> 16) & 0xff, (position >>> 8) & 0xff, position & 0xff]);
}

/** Storage bounds of the keys whose positions fall in [from, to) (to may be 2^32). */
function range(from: number, to: number): { gte: Uint8Array; lt?: Uint8Array } {
  return to >= 2 ** 32 ? { gte: prefix(from) } : { gte: prefix(from), lt: prefix(to) };
}

/** Storage bounds of one partition's keys. */
export function partitionRange(partition: number, partitions: number): { gte: Uint8Array; lt?: Uint8Array } {
  const width = 2 ** (32 - bits(partitions));
  return range(partition * width, (partition + 1) * width);
}

/** Storage bounds of one segment's keys. */
export function leafRange(partition: number, leaf: number, partitions: number): { gte: Uint8Array; lt?: Uint8Array } {
  const width = 2 ** (32 - bits(partitions) - LEAF_BITS);
  const from = partition * 2 ** (32 - bits(partitions)) + leaf * width;
  return range(from, from + width);
}
