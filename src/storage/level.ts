/**
 * A persistent {@link Storage} on LevelDB, through classic-level.
 *
 * All spaces share one database. A key is stored as `[space length][space][key]`: the length
 * byte keeps spaces disjoint even when one name is a prefix of another (`'a'`, `'ab'`), and
 * within a space the stored keys sort exactly as the caller's keys do.
 *
 * Every awaited LevelDB call is a trip through the libuv thread pool, so throughput is set
 * by how many trips are made and how much JavaScript each costs, not by LevelDB. Writes
 * therefore use group commit, as databases do for their log: the `batch()` calls made in the
 * same turn of the event loop, or while a trip is in flight, go to LevelDB as one write
 * batch, which LevelDB applies atomically, so each caller's ops stay atomic. Each
 * caller's ops are copied into that native batch as it calls, so the copying overlaps the
 * trip in flight, and writes land in call order. Reads likewise: those made in the same
 * turn, or while a trip is in flight, go to LevelDB as one `getMany`. A store makes one trip
 * at a time, reads and writes taking turns when both wait, so each trip carries all that
 * gathered meanwhile; with `sync`, reads keep a lane of their own rather than wait behind
 * an fsync. (Each trip costs the main thread 10–30 µs of dispatch on a 2-core
 * machine, most of it waking a pool thread, and a woken thread can take the core from the
 * event loop for a scheduler slice. One read in flight at a time instead of one per turn
 * cut the trips per cluster get by 40%; one trip of either kind at a time instead of a read
 * and a write cut the trips per cluster put by a further 35%; in paired runs of the
 * cluster, puts at 64 in flight rose ~14% and their p99.9 fell ~4%.) The one exception:
 * the replica store's read of the record a write merges with, when the store has nothing
 * queued or in flight, is a `getSync` on the calling thread (`inlineReads`), where a lone
 * trip would cost more than the lookup. And a read of a key never stored makes no trip at
 * all: a filter of the keys the store holds (`keyFilter`, ./key-filter.ts) answers it.
 * @module
 */
import { mkdir } from 'node:fs/promises';
import { ClassicLevel, type ChainedBatch, type KeyIterator } from 'classic-level';
import { ValidationError } from '../errors.js';
import { allocBytes } from '../bytes.js';
import { KeyFilter } from './key-filter.js';
import { READ_LATER, callbackAccess, readNow, type CallbackAccess, type IterateOptions, type ReadNow, type Space, type Storage, type StorageOp, type StorageSupports } from './storage.js';
import { checkBytes, checkIterateOptions, checkKeys, checkOps, checkSpace, storageClosed } from './validate.js';

/** Options of {@link LevelStorage}. LevelDB's own defaults unless said otherwise. */
export interface LevelStorageOptions {
  /**
   * Bytes of LevelDB's LRU cache of uncompressed blocks. Reads of keys found there skip
   * the disk; raise it when the hot set of replicas is larger than the default.
   * @default 8 MiB (8388608)
   */
  cacheSize?: number;
  /**
   * Bytes LevelDB buffers in memory (and in its log) before writing a sorted table. Larger
   * means fewer level-0 tables, so fewer compactions and fewer of the write stalls LevelDB
   * imposes while they pile up (it delays writes at 8 such tables); also faster bulk writes
   * such as handoff. The cost: memory (up to twice this) and a longer log replay on open.
   * 16 MiB rather than LevelDB's 4 MiB: in `npm run bench` the cluster's put p99.9 on
   * LevelStorage went from 11–19 ms to 9–10 ms (Riak's eleveldb uses 30–60 MiB).
   * @default 16 MiB (16777216)
   */
  writeBufferSize?: number;
  /**
   * Compress table blocks with Snappy. Values are CBOR and often compress; turn off only
   * when they are already compressed.
   * @default true
   */
  compression?: boolean;
  /**
   * `fsync` every write before acknowledging it. Without it a write survives a crash of the
   * process but may be lost if the machine loses power. Group commit shares each `fsync`
   * among all the writes merged into it, so the cost per write falls as load rises. Reads
   * then go to LevelDB alongside a write in flight rather than wait for its fsync.
   * @default false
   */
  sync?: boolean;
  /**
   * When a write needs a key's stored record (a replica's read, merge and write) and the
   * store is idle (no write or read queued or in flight), read it on the calling thread
   * rather than through libuv's thread pool. LevelDB serves a read from its memtable, its
   * block cache or the OS page cache in a few microseconds, less than a lone trip through
   * the pool costs; a busy store groups its reads into one trip as before. Puts at 1 in
   * flight: +30–50%. But a read that must go to the disk blocks the event loop for as long
   * as the disk takes: turn it off when the data is much larger than memory and the disk
   * is slow. Gets, iteration and handoff read through the pool (a get of a key the
   * `keyFilter` knows was never stored needs no read at all).
   * @default true
   */
  inlineReads?: boolean;
  /**
   * Keep in memory a filter of the keys the store holds (a Bloom filter: 320 KiB, then
   * 2.6–6.2 bytes a key past 130k keys), so that a read of a key never stored is answered
   * at once, with no trip to LevelDB. Every write reads the key's record first (a replica
   * merges what it is sent with what it holds), so a write of a new key, on every replica,
   * saves a trip. The filter is filled by a scan of the keys in the background after
   * `open()` (reads go to LevelDB until it ends) and by every write. A read of a key never
   * stored still goes to LevelDB about once in 50,000 at 100k keys, once in 1,900 at 1M;
   * reads of deleted keys do until the next open. Cluster puts of new keys at 64 in flight,
   * in paired bench runs: +2–16% puts/s, p99.9 11.0 → 9.6 ms. Turn it off to save its
   * memory when the store holds billions of keys, or when writes of new keys are rare.
   * @default true
   */
  keyFilter?: boolean;
}

/** The values {@link LevelStorage} uses for options not given. */
export const LEVEL_STORAGE_DEFAULTS: Readonly<Required<LevelStorageOptions>> = Object.freeze({
  cacheSize: 8 * 1024 * 1024,
  writeBufferSize: 16 * 1024 * 1024,
  compression: true,
  sync: false,
  inlineReads: true,
  keyFilter: true,
});

type Db = ClassicLevel<Uint8Array, Uint8Array>;

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

/** The callers' ops not yet written, already copied into one native LevelDB write batch. */
interface Group {
  readonly batch: ChainedBatch<Db, Uint8Array, Uint8Array>;
  readonly waiters: Waiter[];
}

/** A `get` or a `getMany` waiting for the next read group. */
type PendingRead =
  | { readonly one: true; readonly keys: [Uint8Array]; resolve(value: Uint8Array | undefined): void; reject(err: unknown): void }
  | { readonly one: false; readonly keys: Uint8Array[]; resolve(values: (Uint8Array | undefined)[]): void; reject(err: unknown): void };

/** Entries fetched from LevelDB per iterator step. */
const ITERATOR_CHUNK = 256;
/** Keys fetched per step of the key filter's scan on open. */
const SCAN_CHUNK = 1024;

/**
 * For tests: resolves once the key filter's scan on open has ended, with whether the filter
 * now answers reads. Not part of the package's exports.
 * @internal
 */
export const keyFilterScanned: unique symbol = Symbol('libdynamo.keyFilterScanned');

/**
 * A {@link Storage} on LevelDB, in the directory `location` (created, with its parents, by
 * `open()`).
 *
 * `close()` first finishes every write and read already accepted, then closes the database;
 * calls made after `close()` was called reject with `STORAGE_CLOSED`. The same instance can
 * be opened again. Writes are acknowledged in the order they were called, and a read made
 * after a write was acknowledged sees it.
 *
 * `open()` rejects with classic-level's error (code `LEVEL_DATABASE_NOT_OPEN`, its `cause`
 * saying why, e.g. `LEVEL_LOCKED` when another instance holds the directory).
 *
 * @example
 * ```ts
 * const storage = new LevelStorage('/var/lib/myapp/dynamo', { cacheSize: 64 * 1024 * 1024 });
 * await storage.open();
 * await storage.batch([{ type: 'put', space: 'data', key, value }]);
 * await storage.close();
 * ```
 */
export class LevelStorage implements Storage {
  /** Data outlives the instance: a new one on the same `location` sees it. */
  readonly supports: StorageSupports = Object.freeze({ persistent: true });
  /** The directory holding the database. */
  readonly location: string;

  readonly #options: Readonly<Required<LevelStorageOptions>>;
  readonly #writeOptions: { sync: boolean };
  readonly #prefixes = new Map<Space, Uint8Array>();
  #db: Db | undefined;
  #state: 'closed' | 'opening' | 'open' | 'closing' = 'closed';
  /** open() and close() run one after another, in call order. */
  #transition: Promise<void> = Promise.resolve();

  #group: Group | undefined;
  #writing: Promise<void> | undefined;

  #reads: PendingRead[] = [];
  #tripScheduled = false;
  /** Whether the last trip was a read: when reads and writes both wait, they take turns. */
  #lastTripRead = false;
  /** The `getMany` in flight (one at a time; not a `Set`, whose table an add and a delete per read would copy). */
  #reading: Promise<void> | undefined;

  /** The keys this open of the store may hold (with `keyFilter`): every key written, and those the scan on open found. */
  #filter: KeyFilter | undefined;
  /** Whether the scan on open has ended, so {@link LevelStorage.#filter} holds every key and may answer reads. */
  #filterReady = false;
  /** The scan on open while it runs; it never rejects. */
  #scan: Promise<void> = Promise.resolve();

  /**
   * @param location directory of the database
   * @param options see {@link LevelStorageOptions}; not kept, so changing it later does nothing
   * @throws ValidationError when `location` is empty or an option is out of range
   */
  constructor(location: string, options: LevelStorageOptions = {}) {
    if (typeof location !== 'string' || location.length === 0) {
      throw new ValidationError('location must be a non-empty path');
    }
    this.location = location;
    this.#options = Object.freeze({ ...LEVEL_STORAGE_DEFAULTS, ...definedOnly(options) });
    this.#writeOptions = { sync: this.#options.sync };
    for (const name of ['cacheSize', 'writeBufferSize'] as const) {
      const value = this.#options[name];
      if (!Number.isSafeInteger(value) || value < 0) {
        throw new ValidationError(`options.${name} must be a non-negative integer of bytes, got ${String(value)}`);
      }
    }
    for (const name of ['compression', 'sync', 'inlineReads', 'keyFilter'] as const) {
      if (typeof this.#options[name] !== 'boolean') {
        throw new ValidationError(`options.${name} must be a boolean, got ${String(this.#options[name])}`);
      }
    }
  }

  /** Creates the directory if needed and opens the database. Idempotent. */
  open(): Promise<void> {
    return this.#serialize(async () => {
      // A database still set means open, or closing by a close() queued after this call.
      if (this.#db !== undefined) return;
      this.#state = 'opening';
      try {
        await mkdir(this.location, { recursive: true });
        const { cacheSize, writeBufferSize, compression } = this.#options;
        // Constructed here, not in our constructor: abstract-level opens a database on the
        // tick after it is constructed, before the directory would exist.
        const db: Db = new ClassicLevel<Uint8Array, Uint8Array>(this.location, {
          keyEncoding: 'view',
          valueEncoding: 'view',
          cacheSize,
          writeBufferSize,
          compression,
        });
        await db.open();
        try {
          this.#startKeyFilter(db);
        } catch (err) {
          await db.close().catch(() => undefined);
          throw err;
        }
        this.#db = db;
        this.#state = 'open';
      } catch (err) {
        this.#state = 'closed';
        throw err;
      }
    });
  }

  /**
   * A fresh key filter for this open (with `keyFilter`), which writes fill from now on, and
   * the scan that adds the keys already stored. Between them they cover every key: the
   * scan's snapshot (taken as its iterator is made, before this open accepts a write) holds
   * every key stored before, and every put since is added as it is queued.
   */
  #startKeyFilter(db: Db): void {
    this.#filterReady = false;
    if (!this.#options.keyFilter) {
      this.#filter = undefined;
      return;
    }
    const filter = new KeyFilter();
    this.#filter = filter;
    const iterator = db.keys();
    this.#scan = this.#scanKeys(iterator, filter);
  }

  async #scanKeys(iterator: KeyIterator<Db, Uint8Array>, filter: KeyFilter): Promise<void> {
    try {
      for (;;) {
        // close() waits for the scan: stop at once rather than read on.
        if (this.#state === 'closing' || this.#state === 'closed') return;
        const keys = await iterator.nextv(SCAN_CHUNK);
        if (keys.length === 0) break;
        for (const key of keys) filter.add(key);
      }
      if (this.#filter === filter) this.#filterReady = true;
    } catch {
      // The filter stays unready and reads go to LevelDB, as without it; whatever failed
      // the scan (I/O, corruption) fails the reads that meet it too.
    } finally {
      await iterator.close().catch(() => undefined);
    }
  }

  /** @internal See {@link keyFilterScanned}. */
  async [keyFilterScanned](): Promise<boolean> {
    await this.#scan;
    return this.#filterReady;
  }

  /**
   * Adds a key about to be written to the key filter, before the write lands: from now on a
   * read of it goes to LevelDB, where it waits behind the write or finds the value before
   * it. If the filter cannot take it (its next, larger filter could not be allocated), the
   * filter is dropped for the rest of this open rather than fail the write.
   */
  #remember(stored: Uint8Array): void {
    const filter = this.#filter;
    if (filter === undefined) return;
    try {
      filter.add(stored);
    } catch {
      this.#filter = undefined;
      this.#filterReady = false;
    }
  }

  /** Whether the key filter is complete and says `stored` (a LevelDB key) was never written. */
  #neverStored(stored: Uint8Array): boolean {
    return this.#filterReady && this.#filter?.mayContain(stored) === false;
  }

  /** Finishes the writes and reads already accepted, then closes the database. Idempotent. */
  close(): Promise<void> {
    // Refuse new calls from now, not from when the queued close gets its turn.
    if (this.#state === 'open') this.#state = 'closing';
    return this.#serialize(async () => {
      const db = this.#db;
      if (db === undefined) return;
      this.#state = 'closing';
      await this.#drain();
      await this.#scan;
      this.#db = undefined;
      this.#state = 'closed';
      await db.close();
    });
  }

  /** The value of `key` in `space`, or `undefined` when it has none; it shares one LevelDB `getMany` with the reads made alongside it. */
  get(space: Space, key: Uint8Array): Promise<Uint8Array | undefined> {
    return new Promise((resolve, reject) => this.#getThen(space, key, resolve, reject));
  }

  async getMany(space: Space, keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    this.#checkOpen();
    checkSpace(space);
    checkKeys(keys);
    if (keys.length === 0) return [];
    const stored = keys.map((key) => this.#storedKey(space, key));
    return new Promise((resolve, reject) => {
      this.#reads.push({ one: false, keys: stored, resolve, reject });
      this.#scheduleTrip();
    });
  }

  batch(ops: readonly StorageOp[]): Promise<void> {
    return new Promise((resolve, reject) => this.#batchThen(ops, resolve, reject));
  }

  /**
   * The `[key, value]` pairs of `space` within `options`' bounds, in ascending bytewise key
   * order, read from a LevelDB iterator (a snapshot taken when iteration starts).
   */
  async *iterate(space: Space, options?: IterateOptions): AsyncGenerator<[Uint8Array, Uint8Array]> {
    const db = this.#checkOpen();
    checkSpace(space);
    const { gte, lt, limit } = checkIterateOptions(options);
    if (limit === 0) return;
    const prefix = this.#prefix(space);
    const iterator = db.iterator({
      gte: gte === undefined ? prefix : this.#storedKey(space, gte),
      lt: lt === undefined ? prefixEnd(prefix) : this.#storedKey(space, lt),
      limit: limit === Infinity ? -1 : limit,
    });
    try {
      for (;;) {
        let entries: [Uint8Array, Uint8Array][];
        try {
          entries = await iterator.nextv(ITERATOR_CHUNK);
        } catch (err) {
          throw translate(err);
        }
        if (entries.length === 0) return;
        for (const [key, value] of entries) {
          // The consumer may be resumed after close(); the contract makes that call reject.
          this.#checkOpen();
          yield [view(key, prefix.length), view(value, 0)];
        }
      }
    } finally {
      await iterator.close();
    }
  }

  /**
   * `get` and `batch` with callbacks (storage.ts's `CallbackAccess`), unless a subclass
   * overrides either.
   * @internal
   */
  [callbackAccess](): CallbackAccess | undefined {
    if (this.get !== LevelStorage.prototype.get || this.batch !== LevelStorage.prototype.batch) return undefined;
    return {
      get: (space, key, onValue, onError) => this.#getThen(space, key, onValue, onError),
      batch: (ops, onDone, onError) => this.#batchThen(ops, onDone, onError),
    };
  }

  #getThen(space: Space, key: Uint8Array, onValue: (value: Uint8Array | undefined) => void, onError: (error: unknown) => void): void {
    let stored: Uint8Array;
    try {
      this.#checkOpen();
      checkSpace(space);
      checkBytes(key, 'key');
      stored = this.#storedKey(space, key);
    } catch (err) {
      onError(err);
      return;
    }
    if (this.#neverStored(stored)) {
      onValue(undefined);
      return;
    }
    this.#reads.push({ one: true, keys: [stored], resolve: onValue, reject: onError });
    this.#scheduleTrip();
  }

  #batchThen(ops: readonly StorageOp[], onDone: () => void, onError: (error: unknown) => void): void {
    let db: Db;
    try {
      db = this.#checkOpen();
      // Checked before any op is added: a bad op fails only its own caller.
      checkOps(ops);
    } catch (err) {
      onError(err);
      return;
    }
    if (ops.length === 0) {
      onDone();
      return;
    }
    let group: Group;
    try {
      group = this.#group ??= { batch: db.batch(), waiters: [] };
    } catch (err) {
      onError(err);
      return;
    }
    try {
      // Copied into LevelDB's native write batch now: the caller may reuse its arrays as
      // soon as this returns.
      for (const op of ops) {
        const key = this.#storedKey(op.space, op.key);
        if (op.type === 'put') {
          this.#remember(key);
          group.batch.put(key, op.value);
        } else {
          group.batch.del(key);
        }
      }
    } catch (err) {
      // Not expected once the ops are valid; but a batch holding part of a caller's ops
      // must never be written, so the whole group is dropped and fails.
      this.#group = undefined;
      void group.batch.close().catch(() => undefined);
      for (const waiter of group.waiters) settle(waiter.reject, err);
      onError(err);
      return;
    }
    group.waiters.push({ resolve: onDone, reject: onError });
    this.#scheduleTrip();
  }

  /**
   * `get` on the calling thread (storage.ts's `ReadNow`), unless `inlineReads` is off or a
   * subclass overrides `get`.
   * @internal
   */
  [readNow](): ReadNow | undefined {
    if (!this.#options.inlineReads || this.get !== LevelStorage.prototype.get) return undefined;
    return (space, key) => this.#getNow(space, key);
  }

  #getNow(space: Space, key: Uint8Array): Uint8Array | undefined | typeof READ_LATER {
    // Busy (writes or reads queued or in flight): `get` serves the read, from the key
    // filter at once or in the next group, which shares one trip to the thread pool and
    // leaves the lookup to the pool's thread. Asked first: `get` checks its arguments (and
    // that the store is open) itself.
    if (this.#busy()) return READ_LATER;
    const db = this.#checkOpen();
    checkSpace(space);
    checkBytes(key, 'key');
    const stored = this.#storedKey(space, key);
    if (this.#neverStored(stored)) return undefined;
    let value: Uint8Array | undefined;
    try {
      value = db.getSync(stored);
    } catch (err) {
      throw translate(err);
    }
    return value === undefined ? undefined : view(value, 0);
  }

  /** Whether writes or reads are queued or in flight. */
  #busy(): boolean {
    return this.#group !== undefined || this.#writing !== undefined || this.#reads.length > 0 || this.#reading !== undefined;
  }

  #checkOpen(): Db {
    if (this.#state !== 'open' || this.#db === undefined) throw storageClosed();
    return this.#db;
  }

  #serialize(step: () => Promise<void>): Promise<void> {
    const done = this.#transition.then(step);
    this.#transition = done.catch(() => undefined);
    return done;
  }

  #prefix(space: Space): Uint8Array {
    let prefix = this.#prefixes.get(space);
    if (prefix === undefined) {
      prefix = new Uint8Array(1 + space.length);
      prefix[0] = space.length;
      for (let i = 0; i < space.length; i++) prefix[i + 1] = space.charCodeAt(i);
      this.#prefixes.set(space, prefix);
    }
    return prefix;
  }

  /** The LevelDB key of `key` in `space`: a fresh array, never the caller's. */
  #storedKey(space: Space, key: Uint8Array): Uint8Array {
    const prefix = this.#prefix(space);
    // From a slab (../bytes.ts): a small array kept on V8's heap would have its bytes moved
    // off it, at the cost of a native allocation, when classic-level's native code takes it.
    const stored = allocBytes(prefix.length + key.length);
    stored.set(prefix, 0);
    stored.set(key, prefix.length);
    return stored;
  }

  /**
   * Schedules the next trip to LevelDB if one can go: one trip at a time per store, reads
   * and writes in turn; with `sync`, reads and writes each have a lane of their own, so a
   * read need not wait for an fsync. A trip's completion schedules the next.
   */
  #scheduleTrip(): void {
    if (this.#tripScheduled || !this.#canTrip()) return;
    this.#tripScheduled = true;
    // setImmediate rather than a microtask: it runs after the I/O callbacks of this turn of
    // the loop (requests arriving together, writers just woken by the last trip), so they
    // all join the group.
    setImmediate(() => {
      this.#tripScheduled = false;
      this.#trip();
    });
  }

  #canTrip(): boolean {
    const reads = this.#reads.length > 0 && this.#reading === undefined;
    const writes = this.#group !== undefined && this.#writing === undefined;
    if (this.#writeOptions.sync) return reads || writes;
    return (reads || writes) && this.#reading === undefined && this.#writing === undefined;
  }

  /**
   * Sends what can go: the reads if the last trip was a write or no write waits, else the
   * writes (with `sync`, each lane that is free). Whether anything went.
   */
  #trip(): boolean {
    if (this.#writeOptions.sync) {
      const read = this.#reading === undefined && this.#flushReads();
      const wrote = this.#writing === undefined && this.#flushWrites();
      return read || wrote;
    }
    if (this.#writing !== undefined || this.#reading !== undefined) return false;
    if (this.#reads.length > 0 && (this.#group === undefined || !this.#lastTripRead)) return this.#flushReads();
    return this.#flushWrites();
  }

  #flushWrites(): boolean {
    const group = this.#group;
    if (group === undefined) return false;
    this.#group = undefined;
    this.#lastTripRead = false;
    this.#writing = group.batch.write(this.#writeOptions).then(
      () => {
        this.#writing = undefined;
        for (const waiter of group.waiters) settle(waiter.resolve, undefined);
        this.#scheduleTrip();
      },
      (err: unknown) => {
        this.#writing = undefined;
        const error = translate(err);
        for (const waiter of group.waiters) settle(waiter.reject, error);
        this.#scheduleTrip();
      },
    );
    return true;
  }

  #flushReads(): boolean {
    const db = this.#db;
    if (this.#reads.length === 0 || db === undefined) return false;
    const group = this.#reads;
    this.#reads = [];
    this.#lastTripRead = true;
    const keys = group.length === 1 ? (group[0] as PendingRead).keys : group.flatMap((read) => read.keys);
    this.#reading = db.getMany(keys).then(
      (values) => {
        this.#reading = undefined;
        let at = 0;
        for (const read of group) {
          if (read.one) {
            const value = values[at++];
            settle(read.resolve, value === undefined ? undefined : view(value, 0));
          } else {
            const mine = values.slice(at, at + read.keys.length);
            at += read.keys.length;
            settle(read.resolve, mine.map((value) => (value === undefined ? undefined : view(value, 0))));
          }
        }
        this.#scheduleTrip();
      },
      (err: unknown) => {
        this.#reading = undefined;
        const error = translate(err);
        for (const read of group) settle(read.reject, error);
        this.#scheduleTrip();
      },
    );
    return true;
  }

  /** Sends every queued write and read now and waits until none is pending. */
  async #drain(): Promise<void> {
    while (this.#busy()) {
      this.#trip();
      await Promise.all([this.#writing, this.#reading]);
    }
  }
}

/**
 * Calls a waiter's callback. One that throws (a bug: `CallbackAccess` callbacks must not)
 * is rethrown as an uncaught exception, not into the loop that settles the rest of its group.
 */
function settle<T>(callback: (value: T) => void, value: T): void {
  try {
    callback(value);
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}

/** The least key greater than every key that starts with `prefix`. */
function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = prefix.slice();
  // Space names are printable ASCII, so the last byte is at most 0x7e and cannot overflow.
  end[end.length - 1] = (end[end.length - 1] as number) + 1;
  return end;
}

/**
 * A plain `Uint8Array` over LevelDB's returned `Buffer`, minus `skip` leading bytes. The
 * binding gives each key and value its own memory, so no copy is needed; a plain view keeps
 * both backends returning the same type (a `Buffer` is not `deepStrictEqual` to a `Uint8Array`).
 */
function view(bytes: Uint8Array, skip: number): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset + skip, bytes.byteLength - skip);
}

/** classic-level's "not open" errors become ours; anything else (I/O, corruption) passes through. */
function translate(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'LEVEL_DATABASE_NOT_OPEN' || code === 'LEVEL_ITERATOR_NOT_OPEN' ? storageClosed(err) : err;
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
