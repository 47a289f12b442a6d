/**
 * Sibling resolvers: functions that turn the concurrent versions a get found into one value,
 * which `Dynamo` then writes back with the get's context, so the siblings are gone for every
 * later reader (what Riak calls resolving on read). Dynamo itself leaves this to the
 * application (§4.4 of the paper); these are the two policies nearly every application
 * reaches for first.
 * @module
 */
import { ValidationError } from '../errors.js';
import { encodeValue } from '../keys.js';
import { toLatin1 } from '../latin1.js';

/** What is known of one sibling besides its value. */
export interface SiblingInfo {
  /**
   * When the version was written: a hybrid logical timestamp (wall-clock milliseconds × 1000
   * plus a logical count) of the member that coordinated the write. 0 when unknown (data
   * written by a release that kept no timestamps).
   */
  readonly writtenAt: number;
  /** The causal identity (member and storage epoch) that coordinated the write. */
  readonly actor: string;
}

/**
 * Merges siblings (at least two, in no particular order; `info[i]` describes `siblings[i]`)
 * into one value. It must not depend on the order of the siblings, or two readers could
 * write different merges; it may throw, and the get then rejects with that error.
 */
export type Resolver<T = unknown> = (siblings: readonly T[], info: readonly SiblingInfo[]) => T;

/**
 * The sibling written last, by hybrid timestamp, ties broken by actor. **Lossy**: the other
 * siblings are discarded even though they were acknowledged writes that nobody saw, and
 * "last" is as good as the members' wall clocks (an HLC keeps causally later writes later,
 * but two truly concurrent writes are ordered by clocks that may be skewed). Use it where
 * losing a concurrent update is acceptable (a session's last page, a profile photo), never
 * for a cart.
 */
export function lastWriteWins<T>(siblings: readonly T[], info: readonly SiblingInfo[]): T {
  checkSiblings(siblings, info);
  let best = 0;
  for (let i = 1; i < siblings.length; i++) {
    const a = info[i]!;
    const b = info[best]!;
    if (a.writtenAt > b.writtenAt || (a.writtenAt === b.writtenAt && a.actor > b.actor)) best = i;
  }
  return siblings[best]!;
}

/**
 * The union of siblings that are all arrays or all `Set`s: every element found in any
 * sibling, once, in the order first met (siblings taken in order of their encoding, so the
 * result does not depend on the order they came in). Array elements are the same when they
 * encode to the same CBOR bytes (objects with the same keys in the same order). Not lossy,
 * but a removal made on one side comes back from the other: the anomaly of the paper's cart,
 * which an `ORSet` or `ORMap` value avoids.
 */
export function union<T>(siblings: readonly T[], info: readonly SiblingInfo[]): T {
  checkSiblings(siblings, info);
  const ordered = [...siblings].map((s) => ({ s, id: identity(s) })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (siblings.every((s) => s instanceof Set)) {
    const out = new Set<unknown>();
    for (const { s } of ordered) for (const e of s as Set<unknown>) out.add(e);
    return out as T;
  }
  if (!siblings.every((s) => Array.isArray(s))) {
    throw new ValidationError('the union resolver merges siblings that are all arrays or all Sets');
  }
  const seen = new Set<string>();
  const out: unknown[] = [];
  for (const { s } of ordered) {
    for (const e of s as unknown[]) {
      const id = identity(e);
      if (!seen.has(id)) {
        seen.add(id);
        out.push(e);
      }
    }
  }
  return out as T;
}

function identity(value: unknown): string {
  return toLatin1(encodeValue(value, Number.MAX_SAFE_INTEGER));
}

function checkSiblings(siblings: readonly unknown[], info: readonly SiblingInfo[]): void {
  if (!Array.isArray(siblings) || siblings.length === 0) throw new ValidationError('a resolver needs at least one sibling');
  if (!Array.isArray(info) || info.length !== siblings.length) throw new ValidationError('a resolver needs one SiblingInfo per sibling');
}
