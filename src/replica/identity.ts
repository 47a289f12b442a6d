/**
 * A member's causal identity ("actor") and incarnation, kept in Storage.
 *
 * The actor is the member id plus a random epoch drawn when the store is new. Dots are
 * numbered per actor; a member whose store was wiped would restart its counters at zero and
 * issue dots that collide with ones it issued before, so a newer write could be discarded
 * as already seen (Riak's kv679 data-loss bug). A fresh store gets a fresh epoch, so its
 * dots can never collide with the old ones.
 *
 * The incarnation counts starts of this store, so a restarted member's gossip outranks
 * what others remember of its previous life.
 * @module
 */
import { Encoder } from 'cbor-x';
import type { Storage } from '../storage/storage.js';
import type { Random } from '../time/random.js';

export const META_SPACE = 'meta';
const IDENTITY_KEY = new TextEncoder().encode('identity');
const FORMAT_VERSION = 1;
const codec = new Encoder({ useRecords: false, mapsAsObjects: true });

export interface Identity {
  readonly actor: string;
  readonly incarnation: number;
}

/** Reads this store's identity (drawing a new epoch for a new store) and counts one more start. */
export async function loadIdentity(storage: Storage, id: string, random: Random): Promise<Identity> {
  const stored = parse(await storage.get(META_SPACE, IDENTITY_KEY));
  // A store carried over to a member with another id must not lend it its actor.
  const actor = stored !== undefined && stored.id === id ? stored.actor : `${id}.${epoch(random)}`;
  const incarnation = (stored?.incarnation ?? 0) + 1;
  const record = codec.encode([FORMAT_VERSION, id, actor, incarnation]).slice();
  await storage.batch([{ type: 'put', space: META_SPACE, key: IDENTITY_KEY, value: record }]);
  return { actor, incarnation };
}

function epoch(random: Random): string {
  return Math.floor(random() * 0x1_0000_0000)
    .toString(36)
    .padStart(7, '0');
}

function parse(bytes: Uint8Array | undefined): { id: string; actor: string; incarnation: number } | undefined {
  if (bytes === undefined) return undefined;
  try {
    const value: unknown = codec.decode(bytes);
    if (
      Array.isArray(value) &&
      value[0] === FORMAT_VERSION &&
      typeof value[1] === 'string' &&
      typeof value[2] === 'string' &&
      Number.isSafeInteger(value[3])
    ) {
      return { id: value[1], actor: value[2], incarnation: value[3] as number };
    }
  } catch {
    // Unreadable identity: treat the store as new, which is always safe (a fresh epoch).
  }
  return undefined;
}

const COUNTER_KEY = new TextEncoder().encode('dot-counter');
/** Counters reserved per write of the lease: one storage write per this many dots. */
const LEASE = 10_000;

/**
 * The highest dot counter this member's actor has issued, over all keys. Dots only need to
 * be unique per key, but a member can lose a key's history without losing its store (a
 * stand-in hands its copy to the owner and drops it); issuing every dot above this counter
 * makes reuse impossible anyway. The counter is persisted as a lease, ahead of use, so a
 * restart resumes above anything issued before it.
 */
export class DotCounter {
  readonly #storage: Storage;
  #current: number;
  #leaseEnd: number;
  #extending: Promise<void> | undefined;

  private constructor(storage: Storage, leaseEnd: number) {
    this.#storage = storage;
    this.#current = leaseEnd;
    this.#leaseEnd = leaseEnd;
  }

  /** Loads the lease of this store; a restart continues above everything leased before. */
  static async load(storage: Storage): Promise<DotCounter> {
    const bytes = await storage.get(META_SPACE, COUNTER_KEY);
    let leaseEnd = 0;
    if (bytes !== undefined) {
      const value: unknown = codec.decode(bytes);
      if (Array.isArray(value) && value[0] === FORMAT_VERSION && Number.isSafeInteger(value[1])) leaseEnd = value[1] as number;
    }
    return new DotCounter(storage, leaseEnd);
  }

  /** The highest counter issued (or leased before a restart). */
  get current(): number {
    return this.#current;
  }

  /**
   * Records that `counter` is about to be issued if its lease is durable already (the case
   * for all but one write in {@link LEASE}); false, recording nothing, if `issue` must
   * extend the lease first.
   */
  issueNow(counter: number): boolean {
    if (counter > this.#leaseEnd) return false;
    if (counter > this.#current) this.#current = counter;
    return true;
  }

  /** Records that `counter` is about to be issued; resolves once its lease is durable. */
  async issue(counter: number): Promise<void> {
    if (counter > this.#current) this.#current = counter;
    while (this.#current > this.#leaseEnd) {
      this.#extending ??= this.#extend();
      await this.#extending;
    }
  }

  async #extend(): Promise<void> {
    const leaseEnd = this.#current + LEASE;
    const value = codec.encode([FORMAT_VERSION, leaseEnd]).slice();
    try {
      await this.#storage.batch([{ type: 'put', space: META_SPACE, key: COUNTER_KEY, value }]);
      this.#leaseEnd = Math.max(this.#leaseEnd, leaseEnd);
    } finally {
      this.#extending = undefined;
    }
  }
}
