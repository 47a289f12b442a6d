/**
 * Keeps each partition's data on its current N owners as the ring changes (§4.9), using
 * anti-entropy exchanges (anti-entropy/exchange.ts) as the transfer:
 * - a member holding data for a partition it no longer owns (a member joined, or this one
 *   is leaving) pushes it to every current owner, then drops each key it sent unless a
 *   write reached it meanwhile;
 * - a member that became an owner pulls the partition from the other owners at once,
 *   rather than waiting for a periodic round;
 * - periodically, one full exchange with a random co-owner repairs whatever else diverged.
 * @module
 */
import type { Storage } from '../storage/storage.js';
import type { Ring } from '../ring/ring.js';
import type { SyncReport } from '../events.js';
import type { Random } from '../time/random.js';
import type { ReplicaStore } from '../replica/replica-store.js';
import { DATA_SPACE } from '../replica/replica-store.js';
import type { AntiEntropy } from '../anti-entropy/exchange.js';
import type { HashTrees } from '../anti-entropy/trees.js';
import { parseDataKey, partitionRange } from '../anti-entropy/layout.js';

export interface OwnershipDeps {
  readonly self: string;
  readonly n: number;
  readonly storage: Storage;
  readonly replicas: ReplicaStore;
  readonly trees: HashTrees;
  readonly antiEntropy: AntiEntropy;
  readonly random: Random;
  ring(): Ring;
  /** Members that have not left, this one included. */
  members(): readonly string[];
  isUp(id: string): boolean;
  onSync(report: SyncReport): void;
}

function emptyReport(peer: string): { -readonly [K in keyof SyncReport]: SyncReport[K] } {
  return { peer, rangesCompared: 0, keysDiffering: 0, keysSent: 0, keysReceived: 0, bytesSent: 0 };
}

export class Ownership {
  readonly #deps: OwnershipDeps;
  #owned = new Set<number>();

  constructor(deps: OwnershipDeps) {
    this.#deps = deps;
    this.#owned = this.#ownedNow();
  }

  /** Partitions whose N owners include this member and `peer`. */
  shared(peer: string): number[] {
    const ring = this.#deps.ring();
    const out: number[] = [];
    for (let p = 0; p < ring.partitions; p++) {
      const owners = ring.walk(p, this.#deps.n);
      if (owners.includes(this.#deps.self) && owners.includes(peer)) out.push(p);
    }
    return out;
  }

  /** One exchange with `peer` (or every member) over the partitions both replicate. */
  async sync(peer?: string): Promise<SyncReport> {
    const peers = peer === undefined ? this.#deps.members().filter((id) => id !== this.#deps.self) : [peer];
    const total = emptyReport(peer ?? '*');
    for (const id of peers) {
      const partitions = this.shared(id);
      if (partitions.length === 0) continue;
      add(total, await this.#exchange(id, partitions, false));
    }
    return total;
  }

  /** A periodic round: one exchange with a random co-owner that is up. */
  async round(): Promise<void> {
    const peers = this.#deps.members().filter((id) => id !== this.#deps.self && this.#deps.isUp(id));
    if (peers.length > 0) await this.sync(peers[Math.floor(this.#deps.random() * peers.length)]!);
    await this.handOff();
  }

  /** After a ring change: pull the partitions this member gained, push those it lost. */
  async ringChanged(): Promise<void> {
    const owned = this.#ownedNow();
    const gained = [...owned].filter((p) => !this.#owned.has(p));
    this.#owned = owned;
    const ring = this.#deps.ring();
    const byPeer = new Map<string, number[]>();
    for (const p of gained) {
      for (const id of ring.walk(p, this.#deps.n)) {
        if (id === this.#deps.self || !this.#deps.isUp(id)) continue;
        let list = byPeer.get(id);
        if (list === undefined) byPeer.set(id, (list = []));
        list.push(p);
      }
    }
    for (const [peer, partitions] of byPeer) await this.#exchange(peer, partitions, false).catch(() => {});
    await this.handOff();
  }

  /**
   * Pushes every partition this member holds data for but does not own to its owners, then
   * drops what it pushed. Resolves with how many partitions are still held (0: all handed over).
   */
  async handOff(): Promise<number> {
    const ring = this.#deps.ring();
    let remaining = 0;
    for (const p of this.#deps.trees.partitionsWithData()) {
      const owners = ring.walk(p, this.#deps.n);
      if (owners.includes(this.#deps.self)) continue;
      if (!(await this.#handOver(p, owners))) remaining++;
    }
    return remaining;
  }

  async #handOver(partition: number, owners: readonly string[]): Promise<boolean> {
    if (owners.length === 0 || !owners.every((id) => this.#deps.isUp(id))) return false;
    const held: [Uint8Array, Uint8Array][] = [];
    const range = partitionRange(partition, this.#deps.ring().partitions);
    for await (const [storageKey, value] of this.#deps.storage.iterate(DATA_SPACE, range)) {
      held.push([parseDataKey(storageKey).key, value]);
    }
    try {
      for (const owner of owners) await this.#exchange(owner, [partition], true);
    } catch {
      return false;
    }
    let kept = 0;
    for (const [key, bytes] of held) if (!(await this.#deps.replicas.deleteIfUnchanged(key, bytes))) kept++;
    return kept === 0;
  }

  async #exchange(peer: string, partitions: readonly number[], pushOnly: boolean): Promise<SyncReport> {
    const report = await this.#deps.antiEntropy.exchange(peer, partitions, { pushOnly });
    this.#deps.onSync(report);
    return report;
  }

  #ownedNow(): Set<number> {
    const ring = this.#deps.ring();
    const owned = new Set<number>();
    for (let p = 0; p < ring.partitions; p++) if (ring.walk(p, this.#deps.n).includes(this.#deps.self)) owned.add(p);
    return owned;
  }
}

function add(total: { -readonly [K in keyof SyncReport]: SyncReport[K] }, report: SyncReport): void {
  total.rangesCompared += report.rangesCompared;
  total.keysDiffering += report.keysDiffering;
  total.keysSent += report.keysSent;
  total.keysReceived += report.keysReceived;
  total.bytesSent += report.bytesSent;
}
