/**
 * Who is in the cluster, as this member knows it. Each member owns its own entry and bumps
 * its incarnation when that entry changes; when two views of a member meet, the higher
 * incarnation wins, so every member converges on the same table (and so the same ring)
 * whatever order the news arrives in.
 * @module
 */
import type { MemberState } from '../protocol/messages.js';

/** A member as `Dynamo.members()` reports it. */
export interface MemberInfo {
  readonly id: string;
  readonly address: string;
  readonly status: 'up' | 'down' | 'leaving';
  readonly vnodes: number;
}

/** What a merge changed. */
export interface TableChange {
  /** Members seen for the first time. */
  readonly joined: MemberState[];
  /** Members whose state changed (status, address, weight). */
  readonly updated: MemberState[];
  /** True when the ring must be rebuilt (a member or a weight changed). */
  readonly ringChanged: boolean;
}

export class MemberTable {
  readonly #members = new Map<string, MemberState>();
  readonly #selfId: string;

  constructor(self: MemberState) {
    this.#selfId = self.id;
    this.#members.set(self.id, self);
  }

  get self(): MemberState {
    return this.#members.get(this.#selfId)!;
  }

  get(id: string): MemberState | undefined {
    return this.#members.get(id);
  }

  /** Every member, this one included, sorted by id. */
  list(): MemberState[] {
    return [...this.#members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  get size(): number {
    return this.#members.size;
  }

  /**
   * Merges states learned from a peer. A view of this member itself is never taken: only
   * this member speaks for itself.
   */
  merge(states: Iterable<MemberState>): TableChange {
    const joined: MemberState[] = [];
    const updated: MemberState[] = [];
    let ringChanged = false;
    for (const state of states) {
      if (state.id === this.#selfId) continue;
      const known = this.#members.get(state.id);
      if (known === undefined) {
        this.#members.set(state.id, state);
        joined.push(state);
        ringChanged = true;
      } else if (state.incarnation > known.incarnation) {
        this.#members.set(state.id, state);
        updated.push(state);
        if (state.vnodes !== known.vnodes) ringChanged = true;
      }
    }
    return { joined, updated, ringChanged };
  }
}

/** The public view of a member state. */
export function memberInfo(state: MemberState): MemberInfo {
  return { id: state.id, address: state.address, status: state.status, vnodes: state.vnodes };
}
