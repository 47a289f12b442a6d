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
  | { readonly type: 'put'; readonly space: Space; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly space: Space; readonly key: Uint8Array };

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
  readonly supports: StorageSupports;
  open(): Promise<void>;
  close(): Promise<void>;
  get(space: Space, key: Uint8Array): Promise<Uint8Array | undefined>;
  /** Like `get` for many keys at once; the result has one slot per key, in order. */
  getMany(space: Space, keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]>;
  /** Applies every op atomically, in order. */
  batch(ops: readonly StorageOp[]): Promise<void>;
  iterate(space: Space, options?: IterateOptions): AsyncIterable<[Uint8Array, Uint8Array]>;
}
