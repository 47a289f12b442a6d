/**
 * An in-process {@link Storage} for tests, examples and members whose data may die with the
 * process.
 *
 * Both keys and values live off the JS heap, out of the garbage collector's way: each space's
 * keys in a hash table of typed arrays with the key bytes in pages (./key-table.ts), values
 * in pages of the storage's own (./value-pool.ts), and a value too large for those as a
 * Latin-1 string. A put leaves no new object behind on the JS heap, so the young-generation
 * collections that set the tail latency have nothing of the storage's to copy.
 * @module
 */
import { fromLatin1, toLatin1 } from '../latin1.js';
import { syncAccess, type IterateOptions, type Space, type Storage, type StorageOp, type StorageSupports, type SyncAccess } from './storage.js';
import { KeyTable } from './key-table.js';
import { LargeValues, ValuePool } from './value-pool.js';
import { allocBytes } from '../bytes.js';
import { checkBytes, checkIterateOptions, checkKeys, checkOps, checkSpace, storageClosed } from './validate.js';

/** Set in an entry that indexes the storage's {@link LargeValues} rather than its pool. */
const LARGE = 1 << 30;

/**
 * One key space: its entries and, once something has iterated it, its keys in order, as
 * Latin-1 strings (one char per byte, ../latin1.ts), which compare with `<` exactly as the
 * bytes do, unsigned.
 *
 * Sorting a million keys takes seconds, and even one pass that touches every key string
 * costs hundreds of milliseconds in cache misses. So the order is kept between iterations,
 * and writes in between are recorded as small sets of keys added and deleted; the next
 * iteration applies them with one binary search each and one copy of the array of
 * pointers, never reading the keys it does not move.
 *
 * Invariant while `order` exists: the keys of `entries` are exactly `order` minus `deleted`
 * plus `added`, `deleted` is a subset of `order`, and `added` shares no key with it. An
 * `order` array is never changed once built (updates build a new one), so an iteration can
 * walk it while later writes go on.
 */
interface SpaceData {
  /**
   * By key: a ref into the storage's {@link ValuePool}, or for a value too big for it,
   * {@link LARGE} plus its index among the storage's {@link LargeValues}.
   */
  readonly entries: KeyTable;
  order: string[] | undefined;
  readonly added: Set<string>;
  readonly deleted: Set<string>;
}

/**
 * A {@link Storage} that keeps everything in memory.
 *
 * Not persistent: a new instance starts empty. The same instance keeps its data across
 * `close()` and `open()`, so a test can restart a member without losing its "disk"; create a
 * new instance to simulate a lost one.
 *
 * `iterate` walks the keys the range held when iteration started, each with its value at
 * the time it is yielded: a key deleted meanwhile is skipped and one added is not seen.
 * (LevelDB's iterators read a true snapshot; a copy of every value up front would cost too
 * much here.)
 *
 * Memory per entry: 17–34 bytes of hash table slot, and the key and the value each in a
 * chunk of its length plus 2, rounded up to 16 bytes; none of it on the JS heap, except a key
 * or value over 4 KiB, kept as a Latin-1 string. Pages and tables are reused but never
 * released: memory stays at the peak a storage has reached. Once a space has been iterated,
 * its keys are also kept in order on the JS heap, as strings (16 bytes plus the key's
 * length each, and 8 for the pointer), with the keys written since in small sets.
 *
 * @example
 * ```ts
 * const storage = new MemoryStorage();
 * await storage.open();
 * await storage.batch([{ type: 'put', space: 'data', key: new Uint8Array([1]), value: new Uint8Array([2]) }]);
 * await storage.get('data', new Uint8Array([1])); // Uint8Array [2]
 * ```
 */
export class MemoryStorage implements Storage {
  /** Data does not outlive the instance. */
  readonly supports: StorageSupports = Object.freeze({ persistent: false });

  readonly #spaces = new Map<Space, SpaceData>();
  /** Every space's values (./value-pool.ts). */
  readonly #pool = new ValuePool();
  /** The values the pool declines. */
  readonly #large = new LargeValues();
  #open = false;

  /** Makes the storage usable; resolves at once. Calling it again is harmless. */
  async open(): Promise<void> {
    this.#open = true;
  }

  /** Refuses further calls until the next `open()`; keeps the data. Idempotent. */
  async close(): Promise<void> {
    this.#open = false;
  }

  /** The value of `key` in `space` (a fresh copy), or `undefined` when it has none. */
  async get(space: Space, key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#get(space, key);
  }

  async getMany(space: Space, keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    this.#checkOpen();
    const entries = this.#known(space)?.entries;
    checkKeys(keys);
    return keys.map((key) => (entries === undefined ? undefined : this.#value(entries.get(key))));
  }

  async batch(ops: readonly StorageOp[]): Promise<void> {
    this.#batch(ops);
  }

  /**
   * The same `get` and `batch`, synchronous, for the replica store (storage.ts's
   * `SyncAccess`). A subclass that overrides either is served only through its own methods.
   * @internal
   */
  [syncAccess](): SyncAccess | undefined {
    if (this.get !== MemoryStorage.prototype.get || this.batch !== MemoryStorage.prototype.batch) return undefined;
    return { get: (space, key) => this.#get(space, key), batch: (ops) => this.#batch(ops) };
  }

  #get(space: Space, key: Uint8Array): Uint8Array | undefined {
    this.#checkOpen();
    const data = this.#known(space);
    checkBytes(key, 'key');
    return data === undefined ? undefined : this.#value(data.entries.get(key));
  }

  /** The bytes an entry stands for, a fresh copy; `undefined` for -1, no entry. */
  #value(entry: number): Uint8Array | undefined {
    if (entry < 0) return undefined;
    return (entry & LARGE) === 0 ? this.#pool.read(entry, allocBytes) : this.#large.read(entry ^ LARGE);
  }

  /** What `entries` keeps for `value`, in place of `old` (-1 when there is none). */
  #entry(value: Uint8Array, old: number): number {
    let ref: number | undefined;
    if (old >= 0 && (old & LARGE) === 0) {
      ref = this.#pool.replace(old, value);
    } else {
      if (old >= 0) this.#large.free(old ^ LARGE);
      ref = this.#pool.store(value);
    }
    return ref ?? LARGE | this.#large.add(value);
  }

  /** Lets go of what an entry holds. */
  #release(entry: number): void {
    if ((entry & LARGE) === 0) this.#pool.free(entry);
    else this.#large.free(entry ^ LARGE);
  }

  #batch(ops: readonly StorageOp[]): void {
    this.#checkOpen();
    checkOps(ops);
    // Everything that could throw is done above, and the loop below runs without yielding,
    // so the batch is atomic: no reader can run in the middle of it.
    for (const op of ops) {
      const data = this.#space(op.space);
      const entries = data.entries;
      const key = op.key;
      const old = entries.get(key);
      if (op.type === 'put') {
        const entry = this.#entry(op.value, old);
        // A value rewritten in its own chunk keeps its ref: nothing to set.
        if (entry !== old) entries.set(key, entry);
        if (old < 0) noteAdded(data, key);
      } else if (old >= 0) {
        entries.delete(key);
        this.#release(old);
        noteDeleted(data, key);
      }
    }
  }

  /**
   * The `[key, value]` pairs of `space` within `options`' bounds, in ascending bytewise key
   * order: the keys the range held when iteration started, each with its value when yielded
   * (see the class notes).
   */
  async *iterate(space: Space, options?: IterateOptions): AsyncGenerator<[Uint8Array, Uint8Array]> {
    this.#checkOpen();
    const data = this.#known(space);
    const { gte, lt, limit } = checkIterateOptions(options);
    if (data === undefined || limit === 0) return;
    const order = sortedKeys(data);
    const from = gte === undefined ? 0 : lowerBound(order, toLatin1(gte));
    let to = lt === undefined ? order.length : lowerBound(order, toLatin1(lt));
    to = Math.min(to, from + limit);
    const { entries } = data;
    for (let i = from; i < to; i++) {
      const key = fromLatin1(order[i] as string);
      // Looked up as yielded, not all at start: a million lookups at once would stall the
      // event loop for about a second.
      const value = this.#value(entries.get(key));
      if (value === undefined) continue;
      // The consumer may be resumed after close(); the contract makes that call reject.
      this.#checkOpen();
      yield [key, value];
    }
  }

  #checkOpen(): void {
    if (!this.#open) throw storageClosed();
  }

  /**
   * The data of `space`, or undefined when nothing was ever written there. A space that
   * exists was checked when it was created, so only unknown names pay for `checkSpace`.
   */
  #known(space: Space): SpaceData | undefined {
    const data = this.#spaces.get(space);
    if (data === undefined) checkSpace(space);
    return data;
  }

  #space(space: Space): SpaceData {
    let data = this.#spaces.get(space);
    if (data === undefined) {
      data = { entries: new KeyTable(), order: undefined, added: new Set(), deleted: new Set() };
      this.#spaces.set(space, data);
    }
    return data;
  }
}

/**
 * Records a key new to `entries` against the kept order. Only then is the key made a
 * string: until something iterates the space, its writes make none.
 */
function noteAdded(data: SpaceData, key: Uint8Array): void {
  if (data.order === undefined) return;
  const text = toLatin1(key);
  // Deleted since the order was built, and back: it is still in `order`.
  if (!data.deleted.delete(text)) data.added.add(text);
  trimPending(data);
}

/** Records a key gone from `entries` against the kept order. */
function noteDeleted(data: SpaceData, key: Uint8Array): void {
  if (data.order === undefined) return;
  const text = toLatin1(key);
  if (!data.added.delete(text)) data.deleted.add(text);
  trimPending(data);
}

/** Past a quarter of the keys, a full sort is cheaper than merging, and the sets stop growing. */
function trimPending(data: SpaceData): void {
  if (data.order !== undefined && data.added.size + data.deleted.size > (data.order.length >>> 2) + 1024) {
    data.order = undefined;
    data.added.clear();
    data.deleted.clear();
  }
}

/** The space's keys in bytewise order, bringing the kept order up to date first. */
function sortedKeys(data: SpaceData): string[] {
  const { added, deleted } = data;
  let order = data.order;
  if (order === undefined) {
    order = data.entries.keys().sort(compareLatin1);
  } else if (added.size > 0 || deleted.size > 0) {
    const old = order;
    const drop = [...deleted].map((key) => lowerBound(old, key)).sort((a, b) => a - b);
    const insert = [...added].sort(compareLatin1);
    const insertAt = insert.map((key) => lowerBound(old, key));
    // Sized up front: filling by index is several times faster than growing by push.
    order = new Array<string>(old.length - drop.length + insert.length);
    let w = 0;
    let d = 0;
    let a = 0;
    for (let i = 0; i < old.length; i++) {
      while (a < insert.length && insertAt[a] === i) order[w++] = insert[a++] as string;
      if (drop[d] === i) d++;
      else order[w++] = old[i] as string;
    }
    while (a < insert.length) order[w++] = insert[a++] as string;
  }
  data.order = order;
  added.clear();
  deleted.clear();
  return order;
}

function compareLatin1(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Index of the first key `>= target` in the sorted `keys`. */
function lowerBound(keys: readonly string[], target: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((keys[mid] as string) < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
