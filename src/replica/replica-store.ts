/**
 * Versions of keys kept in one space of Storage: this member's replicas (`data`) or the
 * copies it holds for others as a stand-in (`hints`). Every change to a key goes through
 * one per-key lock, so the read, the causal merge and the write are one atomic step; on a
 * synchronous backend (MemoryStorage) a change of a key nobody else is working on is done
 * before the call returns, which is as atomic and needs neither the lock nor a promise.
 *
 * Given a time source, every record is stamped and pruned on its way into storage, on a
 * coordinated write and on a merge alike (../versioning/clock-pruning.ts): the writer's
 * time is set, unknown times get the current one, and, with pruning options, the actors
 * riak's rule lets go are forgotten. Pruning runs where the record is stored rather than
 * where it is read, so what a replica holds (and its Merkle digest) is what it serves.
 * @module
 */
import { READ_LATER, callbackAccessOf, readNowOf, syncAccessOf, type CallbackAccess, type ReadNow, type Storage, type StorageOp, type SyncAccess } from '../storage/storage.js';
import { DynamoError } from '../errors.js';
import { decodeVersions, encodeVersions } from '../codec/versions.js';
import {
  emptySet,
  equivalent,
  sync,
  update,
  type CausalContext,
  type Dot,
  type DVVSet,
} from '../versioning/dvvset.js';
import { equalTimes } from '../versioning/actor-times.js';
import { pruneVersions, stampTimes } from '../versioning/clock-pruning.js';
import type { PruneOptions } from '../versioning/version-vector.js';
import { KeyLock } from './key-lock.js';
import { sameBytes } from '../bytes.js';
import type { DotCounter } from './identity.js';

/** A stored value: the CBOR bytes of the user's value, or `null` for a tombstone. */
export type StoredValue = Uint8Array | null;
/** A key's versions as stored. */
export type Versions = DVVSet<StoredValue>;

/** What a coordinated write produced. */
export interface Coordinated {
  readonly set: Versions;
  /** The dot of the value just written. */
  readonly dot: Dot;
  /** The context to hand the writer: what its context covered plus `dot`, never an unseen sibling. */
  readonly writer: CausalContext;
  /** `set` encoded, ready to ship to the other replicas. */
  readonly encoded: Uint8Array;
}

/** Storage space of this member's own replicas. */
export const DATA_SPACE = 'data';

/** Options of a {@link ReplicaStore}. */
export interface ReplicaStoreOptions {
  /** Where a key is kept in the space (e.g. behind its ring position). @default the key itself */
  storageKey?(key: Uint8Array): Uint8Array;
  /**
   * Told of every change, inside the key's lock, once it is in storage: the stored bytes
   * before and after (`undefined`: absent). Keeps the Merkle trees current.
   */
  onChange?(storageKey: Uint8Array, before: Uint8Array | undefined, after: Uint8Array | undefined, set?: Versions): void;
  /**
   * The time, in wall-clock milliseconds (`Clock.wallTime`, shared by every member), that
   * clock entries are stamped with and aged by. Without it records keep the times they came
   * with, and nothing is pruned.
   */
  now?(): number;
  /**
   * Most versions a coordinated write may leave under one key: past it the write is refused
   * with `TOO_MANY_SIBLINGS` before anything is stored. Merges of what other replicas sent
   * are never refused (replicas must converge). @default Infinity
   */
  maxSiblings?: number;
  /** Clock pruning thresholds; needs `now`. @default false (no pruning) */
  pruning?: Readonly<PruneOptions> | false;
}

export class ReplicaStore {
  readonly #storage: Storage;
  /** The backend's synchronous access, when it has one (MemoryStorage): see `mergeNow` and `#coordinateNow`. */
  readonly #sync: SyncAccess | undefined;
  /** A read on the calling thread, when the backend has one (MemoryStorage, LevelStorage): used under the key's lock. */
  readonly #readNow: ReadNow | undefined;
  /** The backend's get and batch with callbacks, on which a change under the lock runs. */
  readonly #calls: CallbackAccess;
  readonly #space: string;
  readonly #counter: DotCounter;
  readonly #options: ReplicaStoreOptions;
  readonly #lock = new KeyLock();

  constructor(storage: Storage, space: string, counter: DotCounter, options: ReplicaStoreOptions = {}) {
    this.#storage = storage;
    this.#sync = syncAccessOf(storage);
    this.#readNow = readNowOf(storage);
    this.#calls = callbackAccessOf(storage);
    this.#space = space;
    this.#counter = counter;
    this.#options = options;
  }

  /** Whether a key's change is stored before the call that makes it returns (MemoryStorage). */
  get synchronous(): boolean {
    return this.#sync !== undefined;
  }

  #key(key: Uint8Array): Uint8Array {
    return this.#options.storageKey?.(key) ?? key;
  }

  /** `set` as it is to be stored: unknown times stamped now, then pruned; `set` itself if unchanged. */
  #prepare(set: Versions): Versions {
    const now = this.#options.now;
    if (now === undefined) return set;
    const ms = Math.max(0, now());
    const stamped = stampTimes(set, ms);
    const pruning = this.#options.pruning;
    return pruning === undefined || pruning === false ? stamped : pruneVersions(stamped, ms, pruning);
  }

  /**
   * `change` of `key`'s stored record, run under the key's lock once every earlier change
   * of the key has released it; the record is read at once when the backend can. `change`
   * ends by calling `done` or `fail` (either releases the lock), and a throw is a `fail`.
   * Callbacks, not promise chains: this runs for every write to a busy key, and for every
   * write on an asynchronous backend, where one promise for the whole change replaces
   * half a dozen.
   */
  #underLock<T>(key: Uint8Array, change: (storageKey: Uint8Array, before: Uint8Array | undefined, done: (value: T) => void, fail: (error: unknown) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#lock.acquire(key, (release) => {
        const done = (value: T): void => {
          release();
          resolve(value);
        };
        const fail = (error: unknown): void => {
          release();
          reject(error);
        };
        const step = (storageKey: Uint8Array, before: Uint8Array | undefined): void => {
          try {
            change(storageKey, before, done, fail);
          } catch (error) {
            fail(error);
          }
        };
        let storageKey: Uint8Array;
        let now: Uint8Array | undefined | typeof READ_LATER;
        try {
          storageKey = this.#key(key);
          const readNow = this.#readNow;
          now = readNow === undefined ? READ_LATER : readNow(this.#space, storageKey);
        } catch (error) {
          fail(error);
          return;
        }
        if (now !== READ_LATER) step(storageKey, now);
        else this.#calls.get(this.#space, storageKey, (before) => step(storageKey, before), fail);
      });
    });
  }

  /** Stores `after` (`undefined`: deletes) under `storageKey`, tells `onChange`, then calls `done`; a failure (or a throw of `onChange`) goes to `fail`. */
  #write(storageKey: Uint8Array, before: Uint8Array | undefined, after: Uint8Array | undefined, set: Versions | undefined, done: () => void, fail: (error: unknown) => void): void {
    this.#calls.batch(
      [writeOp(this.#space, storageKey, after)],
      () => {
        try {
          this.#options.onChange?.(storageKey, before, after, set);
        } catch (error) {
          fail(error);
          return;
        }
        done();
      },
      fail,
    );
  }

  #writeNow(sync: SyncAccess, storageKey: Uint8Array, before: Uint8Array | undefined, after: Uint8Array | undefined, set?: Versions): void {
    sync.batch([writeOp(this.#space, storageKey, after)]);
    this.#options.onChange?.(storageKey, before, after, set);
  }

  /** The versions stored under `key`, or `undefined`. */
  read(key: Uint8Array): Promise<Versions | undefined> {
    return this.readEncoded(key).then((bytes) => (bytes === undefined ? undefined : decodeVersions(bytes, { copy: false })));
  }

  /** Like `read`, but the stored bytes as they are (what a peer's read is answered with). */
  readEncoded(key: Uint8Array): Promise<Uint8Array | undefined> {
    if (this.#sync !== undefined) {
      try {
        return Promise.resolve(this.readEncodedNow(key));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.#storage.get(this.#space, this.#key(key));
  }

  /**
   * `readEncoded` before returning, for a {@link ReplicaStore.synchronous} backend (a read
   * needs no lock there: no write is ever half done).
   * @throws what the storage throws; an Error if the backend is not synchronous (a bug here).
   */
  readEncodedNow(key: Uint8Array): Uint8Array | undefined {
    if (this.#sync === undefined) throw new Error('internal: readEncodedNow needs a synchronous storage backend');
    return this.#sync.get(this.#space, this.#key(key));
  }

  /**
   * A coordinator's write (§4.3): supersede what `context` covers, add the value under a
   * fresh dot of `actor`, store.
   * @param onReady told of the new version as soon as it exists and its dot is issued, which
   *   may be before it is stored: the coordinator replicates it meanwhile.
   */
  coordinate(key: Uint8Array, context: CausalContext, actor: string, value: StoredValue, onReady?: (written: Coordinated) => void): Promise<Coordinated> {
    try {
      const now = this.#coordinateNow(key, context, actor, value);
      if (now !== undefined) {
        onReady?.(now);
        return Promise.resolve(now);
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#underLock<Coordinated>(key, (storageKey, before, done, fail) => {
      const written = this.#coordinated(before, context, actor, value);
      const store = (): void => {
        try {
          onReady?.(written);
          this.#write(storageKey, before, written.encoded, written.set, () => done(written), fail);
        } catch (error) {
          fail(error);
        }
      };
      if (this.#counter.issueNow(written.dot.counter)) store();
      else this.#counter.issue(written.dot.counter).then(store, fail);
    });
  }

  /**
   * `coordinate` done before returning, as `mergeNow` does a merge; `undefined` when it must
   * wait: the key is busy, or the dot counter's lease must be written first (then the whole
   * write waits for it, under the lock).
   */
  #coordinateNow(key: Uint8Array, context: CausalContext, actor: string, value: StoredValue): Coordinated | undefined {
    const sync = this.#sync;
    if (sync === undefined || this.#lock.busy(key)) return undefined;
    const storageKey = this.#key(key);
    const before = sync.get(this.#space, storageKey);
    const written = this.#coordinated(before, context, actor, value);
    if (!this.#counter.issueNow(written.dot.counter)) return undefined;
    this.#writeNow(sync, storageKey, before, written.encoded, written.set);
    return written;
  }

  /** The write `coordinate` makes over the record `before`, not yet stored. */
  #coordinated(before: Uint8Array | undefined, context: CausalContext, actor: string, value: StoredValue): Coordinated {
    const stored = before === undefined ? emptySet<StoredValue>() : decodeVersions(before, { copy: false });
    // `update` leaves the writer's time unknown: stamping sets it to now.
    const written = update(stored, context, actor, value, this.#counter.current);
    const { dot, context: writer } = written;
    const limit = this.#options.maxSiblings ?? Infinity;
    if (written.set.values.length > limit) {
      throw new DynamoError(
        'TOO_MANY_SIBLINGS',
        `the write would leave ${written.set.values.length} versions of the key, over maxSiblings (${limit}): read the key and write with its context to merge them`,
      );
    }
    const set = this.#prepare(written.set);
    return { set, dot, writer, encoded: encodeVersions(set) };
  }

  /**
   * Merges versions another replica sent (replication, read repair, handoff). Writes only
   * when the merge changed something.
   */
  merge(key: Uint8Array, incoming: Versions, incomingBytes?: Uint8Array): Promise<{ set: Versions; changed: boolean }> {
    try {
      const now = this.mergeNow(key, incoming, incomingBytes);
      if (now !== undefined) return Promise.resolve(now);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#underLock<{ set: Versions; changed: boolean }>(key, (storageKey, before, done, fail) => {
      const merged = this.#merged(before, incoming, incomingBytes);
      if (merged.changed) this.#write(storageKey, before, merged.bytes, merged.set, () => done(merged), fail);
      else done(merged);
    });
  }

  /**
   * `merge`, done before returning when the backend is synchronous and nothing else is
   * working on the key: no promise at all, which is what a replica's write request costs
   * most of on MemoryStorage. `undefined` when it cannot be done at once: then call `merge`.
   */
  mergeNow(key: Uint8Array, incoming: Versions, incomingBytes?: Uint8Array): { set: Versions; changed: boolean } | undefined {
    const sync = this.#sync;
    if (sync === undefined || this.#lock.busy(key)) return undefined;
    const storageKey = this.#key(key);
    const before = sync.get(this.#space, storageKey);
    const merged = this.#merged(before, incoming, incomingBytes);
    if (merged.changed) this.#writeNow(sync, storageKey, before, merged.bytes, merged.set);
    return merged;
  }

  /** What `merge` makes of the record `before` and what came; `bytes` only when it changed. */
  #merged(before: Uint8Array | undefined, incoming: Versions, incomingBytes: Uint8Array | undefined): { set: Versions; changed: boolean; bytes?: Uint8Array } {
    if (before === undefined) {
      // Nothing to merge with: store what came, as the sender encoded it unless stamping
      // or pruning changed it.
      const set = this.#prepare(incoming);
      const bytes = set === incoming && incomingBytes !== undefined ? incomingBytes : encodeVersions(set);
      return { set, changed: true, bytes };
    }
    const stored = decodeVersions(before, { copy: false });
    const merged = this.#prepare(sync(stored, incoming));
    // Times count too: replicas that agree on the history converge on its times as well,
    // so their bytes (and Merkle digests) end up equal.
    const changed = !equivalent(stored, merged) || !equalTimes(stored.times, merged.times);
    return changed ? { set: merged, changed, bytes: encodeVersions(merged) } : { set: merged, changed };
  }

  /**
   * Deletes `key` if its stored bytes are still `expected`: a handed-off copy goes only if
   * no write reached it since it was sent. Returns whether it was deleted.
   */
  deleteIfUnchanged(key: Uint8Array, expected: Uint8Array): Promise<boolean> {
    return this.#underLock<boolean>(key, (storageKey, bytes, done, fail) => {
      if (bytes === undefined || !sameBytes(bytes, expected)) done(false);
      else this.#write(storageKey, bytes, undefined, undefined, () => done(true), fail);
    });
  }

  /** Deletes `key` unconditionally (a dropped hint). */
  delete(key: Uint8Array): Promise<void> {
    return this.#underLock<void>(key, (storageKey, bytes, done, fail) => {
      if (bytes === undefined) done();
      else this.#write(storageKey, bytes, undefined, undefined, done, fail);
    });
  }
}

function writeOp(space: string, key: Uint8Array, value: Uint8Array | undefined): StorageOp {
  return value === undefined ? { type: 'del', space, key } : { type: 'put', space, key, value };
}
