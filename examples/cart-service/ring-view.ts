/**
 * The ring as the cluster page draws it, from `Dynamo.ring()` (the owner of each of the Q
 * partitions) and `Dynamo.placement(key)` (where one key's replicas live).
 * @module
 */
import type { Dynamo } from '../../src/index.js';

/** The ring as one member sees it. */
export interface RingView {
  /** Q. */
  readonly partitions: number;
  /** `owners[p]` is the id of the member owning partition p. */
  readonly owners: readonly string[];
  /** How many partitions each member owns (only members owning some). */
  readonly counts: Readonly<Record<string, number>>;
  /** The ring's checksum: equal rings have equal versions. */
  readonly version: string;
}

/** Where a key lives. */
export interface Placement {
  readonly key: string;
  /** Its 32-bit ring position. */
  readonly position: number;
  readonly partition: number;
  /** Its preference list: the N members holding its replicas, in ring order. */
  readonly owners: readonly string[];
}

/** Computes ring views of one member. */
export class RingSampler {
  constructor(private readonly dynamo: Pick<Dynamo, 'ring' | 'placement'>) {}

  /** The ring now (no owners before the member has started). */
  async ring(): Promise<RingView> {
    const { partitions, owners, checksum } = this.dynamo.ring();
    const counts: Record<string, number> = {};
    for (const owner of owners) counts[owner] = (counts[owner] ?? 0) + 1;
    return { partitions, owners, counts, version: checksum };
  }

  /** Where `key` lives. */
  placement(key: string): Placement {
    return { key, ...this.dynamo.placement(key) };
  }
}
