/**
 * Serialises the read-modify-write of each key on one replica, so two writes of the same
 * key never both read the old record and one overwrite the other. Different keys run
 * concurrently; a key with no contention pays for one extra promise.
 *
 * Keys are hashed onto a fixed array of stripes, each holding the tail of its queue: two
 * keys of one stripe wait for each other (rarely: 4096 stripes, and a replica has a few
 * hundred changes in flight at most), and no table is allocated as keys come and go. A
 * `Map` of tails was one insert and one delete per change, and V8's insertion-ordered
 * `Map` copies its table every few hundred of those.
 * @module
 */
import { hashBytes } from '../bytes-hash.js';

/** Stripes: 2^STRIPE_BITS. */
const STRIPE_BITS = 12;
const STRIPE_MASK = (1 << STRIPE_BITS) - 1;

/** The stripe of `key`: its hash, folded. */
function stripeOf(key: Uint8Array): number {
  const h = hashBytes(key);
  return (h ^ (h >>> 16)) & STRIPE_MASK;
}

export class KeyLock {
  readonly #tails: (Promise<void> | undefined)[] = new Array<Promise<void> | undefined>(STRIPE_MASK + 1).fill(undefined);

  /** Runs `fn` once every earlier `run` of the same key has settled. */
  run<T>(key: Uint8Array, fn: () => Promise<T>): Promise<T> {
    const stripe = stripeOf(key);
    const previous = this.#tails[stripe];
    const result = previous === undefined ? fn() : previous.then(fn);
    // Settles when `result` does, whichever way; the last run of a stripe clears it.
    const release = (): void => {
      if (this.#tails[stripe] === tail) this.#tails[stripe] = undefined;
    };
    const tail: Promise<void> = result.then(release, release);
    this.#tails[stripe] = tail;
    return result;
  }

  /** Whether `key` has a run in progress or queued: work on it now would jump the queue. */
  busy(key: Uint8Array): boolean {
    return this.#tails[stripeOf(key)] !== undefined;
  }

  /** Stripes with a run in progress or queued (a scan: for tests). */
  get size(): number {
    return this.#tails.reduce((n, tail) => (tail === undefined ? n : n + 1), 0);
  }
}
