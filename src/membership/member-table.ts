/**
 * Who is in the cluster, as this member knows it. Each member owns its own entry: it bumps
 * its incarnation at every start and its heartbeat at every gossip round. When two views of
 * a member meet, the higher (incarnation, heartbeat) wins, so every member converges on the
 * same table (and so the same ring) whatever order the news arrives in.
 * @module
 */
import type { MemberState } from '../protocol/messages.js';

/** A member as `Dynamo.members()` reports it. */
export interface MemberInfo {
  /** The member's unique id (its `id` option, by default its transport address). */
  readonly id: string;
  /** Its transport address, where peers send it requests. */
  readonly address: string;
  /** `down` is this member's opinion (failure detector); `leaving` is the member's own word. */
  readonly status: 'up' | 'down' | 'leaving';
  /** Its weight on the ring (its `vnodes` option): it owns partitions in proportion to it. */
  readonly vnodes: number;
}

/** What a merge changed. */
export interface TableChange {
  /** Members seen for the first time. */
  readonly joined: MemberState[];
  /** Members whose heartbeat or incarnation advanced: news that they are alive. */
  readonly advanced: MemberState[];
  /** For each advanced member, by how many heartbeats (1 across a restart). */
  readonly beats: number[];
  /** Members that are now `left`. */
  readonly left: MemberState[];
  /** True when the ring must be rebuilt (a member, a weight or a status changed). */
  readonly ringChanged: boolean;
}

function newer(a: MemberState, b: MemberState): boolean {
  return a.incarnation > b.incarnation || (a.incarnation === b.incarnation && a.heartbeat > b.heartbeat);
}

export class MemberTable {
  readonly #members = new Map<string, MemberState>();
  readonly #selfId: string;
  #sorted: MemberState[] | undefined;

  constructor(self: MemberState) {
    this.#selfId = self.id;
    this.#members.set(self.id, self);
  }

  get self(): MemberState {
    return this.#members.get(this.#selfId)!;
  }

  /** Replaces this member's own entry (heartbeat, status). */
  setSelf(state: MemberState): void {
    this.#members.set(this.#selfId, state);
    this.#sorted = undefined;
  }

  /** Records an operator's word on another member (its removal); it outranks the member's own. */
  impose(state: MemberState): void {
    this.#members.set(state.id, state);
    this.#sorted = undefined;
  }

  get(id: string): MemberState | undefined {
    return this.#members.get(id);
  }

  /** Every member, this one included, sorted by id. */
  list(): readonly MemberState[] {
    this.#sorted ??= [...this.#members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return this.#sorted;
  }

  get size(): number {
    return this.#members.size;
  }

  /** Merges states learned from a peer. Only this member speaks for itself. */
  merge(states: Iterable<MemberState>): TableChange {
    const joined: MemberState[] = [];
    const advanced: MemberState[] = [];
    const beats: number[] = [];
    const left: MemberState[] = [];
    let ringChanged = false;
    for (const state of states) {
      if (state.id === this.#selfId) continue;
      const known = this.#members.get(state.id);
      if (known === undefined) {
        this.#members.set(state.id, state);
        if (state.status === 'left') left.push(state);
        else joined.push(state);
        ringChanged = true;
      } else if (newer(state, known)) {
        this.#members.set(state.id, state);
        advanced.push(state);
        beats.push(state.incarnation === known.incarnation ? state.heartbeat - known.heartbeat : 1);
        if (state.vnodes !== known.vnodes || state.status !== known.status) ringChanged = true;
        if (state.status === 'left' && known.status !== 'left') left.push(state);
      }
    }
    if (joined.length > 0 || advanced.length > 0 || left.length > 0) this.#sorted = undefined;
    return { joined, advanced, beats, left, ringChanged };
  }
}
