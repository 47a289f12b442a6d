/**
 * The requests a transport has sent and not yet seen answered, by request id.
 *
 * A `Map` is the obvious table, but V8's `Map` keeps insertion order: a deleted entry
 * leaves a hole, new entries go at the end, and once the end is reached the whole table is
 * copied into a fresh one. A pending-request table inserts and deletes once per request,
 * so it was reallocated every few hundred requests, and its tables were a good part of
 * what survived young-generation GC. Request ids are handed out in sequence, so a table
 * indexed by `id` modulo its size finds every pending request in its own slot; it grows
 * (doubling) only when a slot is still taken by a request that many ids older, and never
 * allocates otherwise.
 * @module
 */

const INITIAL_SLOTS = 64;

export class PendingTable<T> {
  #ids = new Float64Array(INITIAL_SLOTS);
  #values: (T | undefined)[] = new Array<T | undefined>(INITIAL_SLOTS).fill(undefined);
  #size = 0;

  /** Requests pending. */
  get size(): number {
    return this.#size;
  }

  get(id: number): T | undefined {
    const slot = id % this.#values.length;
    return this.#ids[slot] === id ? this.#values[slot] : undefined;
  }

  /** Adds request `id`, which must not be pending already. */
  set(id: number, value: T): void {
    let slot = id % this.#values.length;
    while (this.#values[slot] !== undefined) {
      this.#grow();
      slot = id % this.#values.length;
    }
    this.#ids[slot] = id;
    this.#values[slot] = value;
    this.#size++;
  }

  /** Removes request `id`; whether it was pending. */
  delete(id: number): boolean {
    const slot = id % this.#values.length;
    if (this.#ids[slot] !== id || this.#values[slot] === undefined) return false;
    this.#values[slot] = undefined;
    this.#size--;
    return true;
  }

  /** Every pending request's value. */
  values(): T[] {
    return this.#values.filter((value): value is T => value !== undefined);
  }

  clear(): void {
    this.#values.fill(undefined);
    this.#size = 0;
  }

  /**
   * Doubles the slots. Ids apart in n slots are apart in 2n (a % n is (a % 2n) % n), so
   * every pending request keeps a slot of its own.
   */
  #grow(): void {
    const ids = this.#ids;
    const values = this.#values;
    const slots = values.length * 2;
    this.#ids = new Float64Array(slots);
    this.#values = new Array<T | undefined>(slots).fill(undefined);
    for (let i = 0; i < values.length; i++) {
      if (values[i] === undefined) continue;
      const slot = ids[i]! % slots;
      this.#ids[slot] = ids[i]!;
      this.#values[slot] = values[i];
    }
  }
}
