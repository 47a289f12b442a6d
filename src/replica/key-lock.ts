/**
 * Serialises the read-modify-write of each key on one replica, so two writes of the same
 * key never both read the old record and one overwrite the other. Different keys run
 * concurrently. A holder takes the key with a callback and gives it back by calling
 * `release`: a key with no contention costs no promise, only the waiters' queue when
 * there are waiters.
 *
 * Keys are hashed onto a fixed array of stripes, each holding its queue of waiters: two
 * keys of one stripe wait for each other (rarely: 4096 stripes, and a replica has a few
 * hundred changes in flight at most), and no table is allocated as keys come and go. A
 * `Map` of queues was one insert and one delete per change, and V8's insertion-ordered
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

/** A holder's turn: it owns the key until it calls `release` (once; later calls do nothing). It must not throw. */
export type Turn = (release: () => void) => void;

/** A stripe that is held with nobody waiting: no array is made until someone waits. */
const HELD: readonly Turn[] = Object.freeze([]);

export class KeyLock {
  /** By stripe: undefined when free, {@link HELD}, or the turns waiting in call order. */
  readonly #queues: (readonly Turn[] | Turn[] | undefined)[] = new Array<Turn[] | undefined>(STRIPE_MASK + 1).fill(undefined);

  /**
   * Gives `turn` the key once every earlier holder of it has released it: at once, before
   * this returns, when nobody holds it; otherwise in a microtask after the release. The
   * replica store's writes take the lock this way, with no promise per change.
   */
  acquire(key: Uint8Array, turn: Turn): void {
    const stripe = stripeOf(key);
    const queue = this.#queues[stripe];
    if (queue === undefined) {
      this.#queues[stripe] = HELD;
      this.#start(stripe, turn);
    } else if (queue === HELD) {
      this.#queues[stripe] = [turn];
    } else {
      (queue as Turn[]).push(turn);
    }
  }

  /** Runs `fn` once every earlier holder of the key has released it, and releases it when `fn`'s promise settles. */
  run<T>(key: Uint8Array, fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.acquire(key, (release) => {
        let result: Promise<T>;
        try {
          result = fn();
        } catch (error) {
          release();
          reject(error);
          return;
        }
        result.then(
          (value) => {
            release();
            resolve(value);
          },
          (error: unknown) => {
            release();
            reject(error);
          },
        );
      });
    });
  }

  /** Whether `key` is held or waited for: work on it now would jump the queue. */
  busy(key: Uint8Array): boolean {
    return this.#queues[stripeOf(key)] !== undefined;
  }

  /** Stripes held or waited for (a scan: for tests). */
  get size(): number {
    return this.#queues.reduce((n, queue) => (queue === undefined ? n : n + 1), 0);
  }

  #start(stripe: number, turn: Turn): void {
    let released = false;
    turn(() => {
      if (released) return;
      released = true;
      this.#release(stripe);
    });
  }

  #release(stripe: number): void {
    const queue = this.#queues[stripe] as Turn[];
    if (queue === HELD) {
      this.#queues[stripe] = undefined;
      return;
    }
    const next = queue.shift() as Turn;
    if (queue.length === 0) this.#queues[stripe] = HELD;
    // In a microtask, not here: a chain of holders that release at once would otherwise
    // nest one call deeper each.
    queueMicrotask(() => this.#start(stripe, next));
  }
}
