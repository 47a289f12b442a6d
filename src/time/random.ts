/**
 * Injectable randomness. A {@link Random} is a function returning a float in [0, 1);
 * {@link seededRandom} gives a reproducible stream from a 32-bit seed.
 * @module
 */

/** Returns a float in [0, 1). `Math.random` is one. */
export type Random = () => number;

/**
 * A fast, reproducible pseudo-random stream (mulberry32). Not for cryptography.
 * @param seed any 32-bit integer; the same seed gives the same stream everywhere.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A uniformly chosen integer in [0, n). */
export function randomInt(random: Random, n: number): number {
  return Math.floor(random() * n);
}
