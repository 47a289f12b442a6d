/**
 * State-based CRDTs (Shapiro et al. 2011) that applications store as libdynamo values so
 * concurrent writes merge instead of piling up as siblings: {@link ORSet}, {@link PNCounter},
 * {@link LWWRegister} and {@link ORMap}. Pure and immutable: every operation returns a new
 * state; `merge` is commutative, associative and idempotent. {@link encodeCrdt} and
 * {@link decodeCrdt} give each a canonical, tagged and versioned CBOR form.
 *
 * @example
 * ```ts
 * // Siblings of a key merge into one set; the write supersedes them all.
 * const { values, context } = await node.get('cart:alice');
 * const cart = values
 *   .map((bytes) => decodeCrdt(bytes as Uint8Array, ORSet<string>))
 *   .reduce((a, b) => a.merge(b), ORSet.empty<string>());
 * await node.put('cart:alice', encodeCrdt(cart.add('node-a', 'sku-42')), { context });
 * ```
 * @module
 */
export { ORSet } from './or-set.js';
export { PNCounter, type PNCounterEntry } from './pn-counter.js';
export { LWWRegister } from './lww-register.js';
export { ORMap, MAX_MAP_DEPTH, type ORMapEntry } from './or-map.js';
export { compareTimestamps, nextTimestamp, type HlcTimestamp } from './hlc.js';
export { CRDT_FORMAT_VERSION, encodeCrdt } from './encode.js';
export { decodeCrdt } from './decode.js';
export { MAX_VALUE_DEPTH } from './plain-value.js';
export type { Crdt, CrdtTag, CrdtType, PlainValue } from './types.js';
