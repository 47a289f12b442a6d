/**
 * Merges, inside the replicas, sibling CRDT values that reached a key by replication, hints,
 * read repair or anti-entropy, so that a key holding a CRDT converges to one stored version
 * even if nobody reads it. Only the key's first owner (in this member's view of the ring)
 * compacts, by an ordinary coordinated write of the merge with the context of the versions
 * it merged: two members compacting the same siblings at once would each create a new
 * version, and compact each other's forever.
 * @module
 */
import { decodeStored, isStoredCrdt, keyId } from '../keys.js';
import type { CausalContext } from '../versioning/dvvset.js';
import type { Versions } from '../replica/replica-store.js';
import { settleSiblings, UNSETTLED } from './settle.js';

export interface CrdtCompactorDeps {
  /** Whether this member is the first owner of `key`. */
  isPrimary(key: Uint8Array): boolean;
  /** Writes `value` (a user value, not yet encoded) superseding what `context` covers. */
  write(key: Uint8Array, value: unknown, context: CausalContext): Promise<unknown>;
  /** The versions of `key` this member's replica holds now. */
  read(key: Uint8Array): Promise<Versions | undefined>;
  /** Keeps the compaction visible to `stop()`. */
  track(work: Promise<unknown>): void;
}

export class CrdtCompactor {
  readonly #deps: CrdtCompactorDeps;
  /**
   * Keys with a compaction under way (one at a time a key), each with whether siblings
   * reached it meanwhile: a version written concurrently with the compaction's own (a
   * reader writing back the same merge, say) is a sibling the compaction does not cover,
   * so the key is looked at again once it is done.
   */
  readonly #running = new Map<string, { again: boolean }>();

  constructor(deps: CrdtCompactorDeps) {
    this.#deps = deps;
  }

  /** Told of every stored change of a key that left siblings (inside its lock: the work starts after). */
  observe(key: Uint8Array, set: Versions | undefined): void {
    if (set === undefined || set.values.length < 2) return;
    for (const { value } of set.values) if (value === null || !isStoredCrdt(value)) return;
    if (!this.#deps.isPrimary(key)) return;
    const id = keyId(key);
    const running = this.#running.get(id);
    if (running !== undefined) {
      running.again = true;
      return;
    }
    const state = { again: false };
    this.#running.set(id, state);
    const copy = key.slice();
    // Started once the change that called us is over: a replica store on a synchronous
    // backend calls this from inside the change, where a nested write must not begin.
    const work = Promise.resolve()
      .then(() => this.#compact(copy, set))
      .finally(() => {
        this.#running.delete(id);
        // What the replica holds now, not what was seen meanwhile: that may be older than
        // the compaction's own write, and merging it again would make a sibling of its own.
        if (state.again) return this.#deps.read(copy).then((now) => this.observe(copy, now), () => undefined);
        return undefined;
      });
    this.#deps.track(work);
  }

  async #compact(key: Uint8Array, set: Versions): Promise<void> {
    const values: unknown[] = [];
    for (const { value } of set.values) values.push(decodeStored(value!).value);
    const merged = settleSiblings(values, [], undefined, true);
    if (merged === UNSETTLED) return; // CRDTs of different classes: left to the reader
    try {
      await this.#deps.write(key, merged, set.context);
    } catch {
      // Not written (no quorum, stopping): the next change of the key, or a read, merges.
    }
  }
}
