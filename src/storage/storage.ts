/**
 * The `Storage` interface: where a member keeps its replicas, its hints and its own
 * metadata. Implementations hold opaque bytes; libdynamo does all encoding itself.
 *
 * Keys live in named spaces (`'data'`, `'hints'`, `'meta'`, …) that never see each other's
 * keys. Within a space, keys are ordered bytewise (unsigned), as LevelDB orders them.
 * @module
 */

/** A key space name: short ASCII, e.g. `'data'`. */
export type Space = string;

/** One write in a {@link Storage.batch}. */
export type StorageOp =
  | {
      /** Sets `key` to `value`, replacing any value it had. */
      readonly type: 'put';
      /** The key space written. */
      readonly space: Space;
      /** The key written. */
      readonly key: Uint8Array;
      /** The bytes stored under `key`. */
      readonly value: Uint8Array;
    }
  | {
      /** Deletes `key`; deleting a missing key does nothing. */
      readonly type: 'del';
      /** The key space written. */
      readonly space: Space;
      /** The key deleted. */
      readonly key: Uint8Array;
    };

/** Bounds of an iteration, bytewise; all optional. */
export interface IterateOptions {
  /** Inclusive lower bound. */
  gte?: Uint8Array;
  /** Exclusive upper bound. */
  lt?: Uint8Array;
  /** At most this many entries. */
  limit?: number;
}

/** What a backend can do; gates optional compliance tests (as abstract-level's `supports`). */
export interface StorageSupports {
  /** Data survives `close()` and a new instance on the same location. */
  readonly persistent: boolean;
}

/**
 * A byte key-value store with named spaces and atomic batches.
 *
 * Contract (checked by the compliance suite in `libdynamo/compliance`):
 * - `open()` before anything else; `close()` releases everything; calls after `close()`
 *   reject with a `DynamoError` of code `STORAGE_CLOSED`.
 * - `batch(ops)` is atomic: after a crash either every op is visible or none is. Once its
 *   promise resolves, `get` returns the new values.
 * - `get` of a missing key resolves `undefined`.
 * - `iterate` yields `[key, value]` pairs in ascending bytewise key order, within bounds.
 * - Returned byte arrays belong to the caller; the backend must not change them later, and
 *   must not keep a reference to arrays it was given (callers may reuse them).
 */
export interface Storage {
  /** What this backend can do (whether its data persists). */
  readonly supports: StorageSupports;
  /** Makes the storage usable; must resolve before any other call. */
  open(): Promise<void>;
  /** Releases everything; later calls reject with code `STORAGE_CLOSED`. */
  close(): Promise<void>;
  /** The value of `key` in `space`, or `undefined` when it has none. */
  get(space: Space, key: Uint8Array): Promise<Uint8Array | undefined>;
  /** Like `get` for many keys at once; the result has one slot per key, in order. */
  getMany(space: Space, keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]>;
  /** Applies every op atomically, in order. */
  batch(ops: readonly StorageOp[]): Promise<void>;
  /** The `[key, value]` pairs of `space` within `options`' bounds, in ascending bytewise key order. */
  iterate(space: Space, options?: IterateOptions): AsyncIterable<[Uint8Array, Uint8Array]>;
}

/**
 * Synchronous access to a backend whose data lives in this process (MemoryStorage). Not
 * part of the public contract: the replica store uses it, when a backend offers it, to do
 * a key's read, merge and write in one synchronous step, with no lock and no promise per
 * storage call; every other backend goes through the asynchronous interface.
 * @internal
 */
export interface SyncAccess {
  get(space: Space, key: Uint8Array): Uint8Array | undefined;
  batch(ops: readonly StorageOp[]): void;
}

/** The method through which a backend offers {@link SyncAccess}. @internal */
export const syncAccess: unique symbol = Symbol('libdynamo.syncAccess');

/**
 * A read on the calling thread from a backend whose writes stay asynchronous (LevelStorage),
 * or {@link READ_LATER} when the backend would rather serve it through `get`. The replica
 * store reads a key's record this way inside the key's lock, where the write that follows
 * needs it.
 * @internal
 */
export type ReadNow = (space: Space, key: Uint8Array) => Uint8Array | undefined | typeof READ_LATER;

/** What a {@link ReadNow} returns to have the read made through `get` instead. @internal */
export const READ_LATER: unique symbol = Symbol('libdynamo.readLater');

/** The method through which a backend offers {@link ReadNow}. @internal */
export const readNow: unique symbol = Symbol('libdynamo.readNow');

/** `storage`'s read on the calling thread: its {@link SyncAccess}'s, or a {@link ReadNow} it offers. @internal */
export function readNowOf(storage: Storage): ReadNow | undefined {
  const sync = syncAccessOf(storage);
  if (sync !== undefined) return (space, key) => sync.get(space, key);
  const offer = (storage as { [readNow]?: () => ReadNow | undefined })[readNow];
  return typeof offer === 'function' ? offer.call(storage) : undefined;
}

/**
 * A backend's `get` and `batch` with callbacks instead of promises. Not part of the public
 * contract: the replica store runs each change of a key (read, merge, write, under the
 * key's lock) on these, with one promise for the whole change, where promises cost one or
 * two a call and more to chain them; a backend that completes its calls asynchronously
 * offers it (LevelStorage), and any other is adapted ({@link callbackAccessOf}). Exactly one
 * of the two callbacks is called, once, at once or later; they must not throw.
 * @internal
 */
export interface CallbackAccess {
  get(space: Space, key: Uint8Array, onValue: (value: Uint8Array | undefined) => void, onError: (error: unknown) => void): void;
  batch(ops: readonly StorageOp[], onDone: () => void, onError: (error: unknown) => void): void;
}

/** The method through which a backend offers {@link CallbackAccess}. @internal */
export const callbackAccess: unique symbol = Symbol('libdynamo.callbackAccess');

/** `storage`'s {@link CallbackAccess}: its own when it offers one, else its promises adapted. @internal */
export function callbackAccessOf(storage: Storage): CallbackAccess {
  const offer = (storage as { [callbackAccess]?: () => CallbackAccess | undefined })[callbackAccess];
  const own = typeof offer === 'function' ? offer.call(storage) : undefined;
  if (own !== undefined) return own;
  const settle = <T>(call: () => Promise<T>, onValue: (value: T) => void, onError: (error: unknown) => void): void => {
    let result: Promise<T>;
    try {
      result = call();
    } catch (error) {
      onError(error);
      return;
    }
    result.then(onValue, onError);
  };
  return {
    get: (space, key, onValue, onError) => settle(() => storage.get(space, key), onValue, onError),
    batch: (ops, onDone, onError) => settle(() => storage.batch(ops), onDone, onError),
  };
}

/** `storage`'s synchronous access, when it offers one. @internal */
export function syncAccessOf(storage: Storage): SyncAccess | undefined {
  const offer = (storage as { [syncAccess]?: () => SyncAccess | undefined })[syncAccess];
  return typeof offer === 'function' ? offer.call(storage) : undefined;
}
