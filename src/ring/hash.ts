/**
 * Hashing for the ring: where a key lands, and the per-member randomness that decides who
 * owns each partition.
 *
 * Key positions come from MurmurHash3 x64 128-bit (seed 0), as Dynamo places keys with a
 * 128-bit hash (MD5 in the paper, §4.2); placement needs an even spread, not cryptographic
 * strength. Only the first 32 bits are kept: the ring never has more than 2^16 partitions, so
 * the rest could never change a placement, and a 32-bit position stays a plain integer.
 *
 * Ownership is decided by rendezvous hashing (Thaler & Ravishankar 1998), which needs one
 * pseudo-random number per (member, partition) pair: Q × S of them per ring build. Those
 * come from the murmur3 32-bit finaliser applied twice with a 64-bit member seed, using only
 * integer operations so that a 100-member ring builds in a few milliseconds.
 * @module
 */
import murmur from 'murmurhash3js-revisited';

const utf8 = new TextEncoder();

/**
 * The unsigned 32-bit ring position of a key: the first 32 bits of its MurmurHash3 x64
 * 128-bit hash with seed 0 (the high half of `h1` in the reference implementation).
 *
 * This is a wire-level contract: every member must place every key identically, so changing
 * it is a breaking change to the stored data layout.
 */
export function hashKey(key: Uint8Array): number {
  return Number.parseInt(murmur.x64.hash128(key, 0).slice(0, 8), 16);
}

/**
 * A member's 64-bit rendezvous seed, as two unsigned 32-bit words: the first 64 bits of the
 * MurmurHash3 x64 128-bit hash of the id's UTF-8 bytes. Sixty-four bits rather than 32 so
 * that two ids colliding (and then tying on every partition) is out of reach in practice.
 */
export function memberSeed(id: string): readonly [number, number] {
  const hex = murmur.x64.hash128(utf8.encode(id), 0);
  return [Number.parseInt(hex.slice(0, 8), 16), Number.parseInt(hex.slice(8, 16), 16)];
}

/**
 * MurmurHash3's 32-bit finaliser: a bijection on 32-bit integers in which every input bit
 * affects every output bit with probability close to one half.
 */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The rendezvous draw of one member for one partition, an unsigned 32-bit integer. The seed
 * words may be passed signed or unsigned; only their 32 bits matter.
 *
 * Two finaliser rounds keyed by different seed words. One round of `fmix32(partition ^ seed)`
 * would make every member's draws a permutation of every other's (member a's draw at p is
 * member b's at p ^ seedA ^ seedB), tying ownership of pairs of partitions together; adding
 * the second word between rounds breaks that symmetry for the price of two more multiplies.
 */
export function rendezvousDraw(seedHi: number, seedLo: number, partition: number): number {
  return fmix32((fmix32(partition ^ seedHi) + seedLo) | 0);
}

const TWO_POW_MINUS_32 = 2 ** -32;

/**
 * The weighted rendezvous score of a draw: `weight / -ln(u)` with `u` uniform in (0, 1).
 * Taking the highest score makes a member win with probability weight / total weight, and
 * raising one member's weight can only win it partitions, never move others between
 * third parties. The half-step offset keeps `u` strictly inside (0, 1) so the logarithm is
 * finite and non-zero.
 */
export function weightedScore(weight: number, draw: number): number {
  return weight / -Math.log((draw + 0.5) * TWO_POW_MINUS_32);
}
