/**
 * This member's replicas: each key's versions (a DVV set, see versioning/dvvset.ts) kept
 * in the `data` space of Storage. All changes to a key go through one per-key lock, so the
 * read, the causal merge and the write are one atomic step on this replica.
 * @module
 */
import type { Storage } from '../storage/storage.js';
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
import { keyId } from '../keys.js';
import { KeyLock } from './key-lock.js';

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

/** Storage space of replica data. */
export const DATA_SPACE = 'data';

export class ReplicaStore {
  readonly #storage: Storage;
  readonly #lock = new KeyLock();

  constructor(storage: Storage) {
    this.#storage = storage;
  }

  /** This replica's versions of `key`, or `undefined` when it holds none. */
  async read(key: Uint8Array): Promise<Versions | undefined> {
    const bytes = await this.#storage.get(DATA_SPACE, key);
    return bytes === undefined ? undefined : decodeVersions(bytes);
  }

  /** Like `read`, but the stored bytes as they are (what a peer's read is answered with). */
  readEncoded(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#storage.get(DATA_SPACE, key);
  }

  /**
   * A coordinator's write (§4.3 step 1 of a put): supersede what `context` covers, add the
   * value under a fresh dot of `actor`, store. Returns the new versions and the new dot.
   */
  coordinate(key: Uint8Array, context: CausalContext, actor: string, value: StoredValue): Promise<Coordinated> {
    return this.#lock.run(keyId(key), async () => {
      const stored = (await this.read(key)) ?? emptySet<StoredValue>();
      const { set, dot, context: writer } = update(stored, context, actor, value);
      const encoded = encodeVersions(set);
      await this.#storage.batch([{ type: 'put', space: DATA_SPACE, key, value: encoded }]);
      return { set, dot, writer, encoded };
    });
  }

  /**
   * Merges versions another replica sent (replication, read repair). Writes only when the
   * merge changed something. Returns the merged versions and whether they changed.
   */
  merge(key: Uint8Array, incoming: Versions): Promise<{ set: Versions; changed: boolean }> {
    return this.#lock.run(keyId(key), async () => {
      const stored = await this.read(key);
      const merged = stored === undefined ? incoming : sync(stored, incoming);
      const changed = stored === undefined || !equivalent(stored, merged);
      if (changed) {
        await this.#storage.batch([{ type: 'put', space: DATA_SPACE, key, value: encodeVersions(merged) }]);
      }
      return { set: merged, changed };
    });
  }
}
