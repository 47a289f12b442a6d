/**
 * Tombstone collection. A delete is a tombstone version so that it can supersede the
 * versions its context covered on every replica; collecting it too early would let a
 * replica that missed the delete bring the old value back. So a key whose versions are all
 * tombstones is collected only when (a) it has been one for `graceMs` here, and (b) every
 * one of its N owners, asked directly, holds exactly the same tombstones; then each owner
 * deletes the key if it is still unchanged.
 *
 * What grace protects against: a copy of an old version held outside the owners (a hint,
 * a handoff in flight) arriving after collection would come back as a live value. Keep
 * `graceMs` above the time hints and handoffs take to land.
 * @module
 */
import type { Message } from '../transport/transport.js';
import type { Clock } from '../time/clock.js';
import { decodeVersions } from '../codec/versions.js';
import { keyId } from '../keys.js';
import { sameBytes } from '../bytes.js';
import type { ReplicaStore, Versions } from '../replica/replica-store.js';
import { keyView } from './layout.js';

export interface TombstoneDeps {
  readonly self: string;
  readonly clock: Clock;
  readonly graceMs: number;
  readonly timeoutMs: number;
  readonly replicas: ReplicaStore;
  owners(key: Uint8Array): string[];
  isUp(id: string): boolean;
  send(member: string, message: Message, timeoutMs: number): Promise<Message>;
  onCollected(key: Uint8Array): void;
}

/** Whether every version a key holds is a tombstone. */
export function onlyTombstones(set: Versions): boolean {
  return set.values.length > 0 && set.values.every((v) => v.value === null);
}

export class TombstoneCollector {
  readonly #deps: TombstoneDeps;
  /** Keys that are all tombstones here, and since when. */
  readonly #candidates = new Map<string, { key: Uint8Array; since: number }>();

  constructor(deps: TombstoneDeps) {
    this.#deps = deps;
  }

  get pending(): number {
    return this.#candidates.size;
  }

  /** The replica store's change hook (with the decoded versions when it has them). */
  observe(storageKey: Uint8Array, after: Uint8Array | undefined, set?: Versions): void {
    const dead = after !== undefined && onlyTombstones(set ?? decodeVersions(after, { copy: false }));
    // Every write passes here: with no candidate to forget, a live key costs nothing more.
    if (!dead && this.#candidates.size === 0) return;
    const key = keyView(storageKey);
    const id = keyId(key);
    if (!dead) this.#candidates.delete(id);
    else if (!this.#candidates.has(id)) this.#candidates.set(id, { key: key.slice(), since: this.#deps.clock.now() });
  }

  /** Collects every candidate past its grace whose owners all agree. Returns how many. */
  async collect(): Promise<number> {
    const cutoff = this.#deps.clock.now() - this.#deps.graceMs;
    let collected = 0;
    for (const [id, { key, since }] of [...this.#candidates]) {
      if (since > cutoff) continue;
      if (await this.#collect(key)) {
        this.#candidates.delete(id);
        collected++;
      }
    }
    return collected;
  }

  async #collect(key: Uint8Array): Promise<boolean> {
    const deps = this.#deps;
    const ours = await deps.replicas.readEncoded(key);
    if (ours === undefined) return true;
    const owners = deps.owners(key);
    if (!owners.includes(deps.self) || !owners.every((id) => id === deps.self || deps.isUp(id))) return false;
    const others = owners.filter((id) => id !== deps.self);
    try {
      const replies = await Promise.all(others.map((id) => deps.send(id, { type: 'read', key }, deps.timeoutMs)));
      const agree = replies.every((r) => {
        const versions = (r as { versions?: unknown }).versions;
        return r.type === 'read-reply' && versions instanceof Uint8Array && sameBytes(versions, ours);
      });
      if (!agree) return false;
      await Promise.all(others.map((id) => deps.send(id, { type: 'reap', key, versions: ours }, deps.timeoutMs)));
    } catch {
      return false;
    }
    const deleted = await deps.replicas.deleteIfUnchanged(key, ours);
    if (deleted) deps.onCollected(key);
    return deleted;
  }
}
