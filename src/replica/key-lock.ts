/**
 * Serialises the read-modify-write of each key on one replica, so two writes of the same
 * key never both read the old record and one overwrite the other. Different keys run
 * concurrently; a key with no contention pays for one extra promise.
 * @module
 */

export class KeyLock {
  readonly #tails = new Map<string, Promise<void>>();

  /** Runs `fn` once every earlier `run` of the same key has settled. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key);
    const result = previous === undefined ? fn() : previous.then(fn);
    // Settles when `result` does, whichever way; the last run of a key removes its entry.
    const release = (): void => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    };
    const tail: Promise<void> = result.then(release, release);
    this.#tails.set(key, tail);
    return result;
  }

  /** Whether `key` has a run in progress or queued: work on it now would jump the queue. */
  busy(key: string): boolean {
    return this.#tails.has(key);
  }

  /** Keys with a run in progress or queued. */
  get size(): number {
    return this.#tails.size;
  }
}
