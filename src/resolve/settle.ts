/**
 * What a get does with siblings before answering: CRDT values of one type merge into one
 * (their `merge` is exact), otherwise a resolver, when one is set, picks or builds the value.
 * The caller writes the result back with the read's context, so the siblings are gone.
 * @module
 */
import { isCrdt } from '../keys.js';
import type { Crdt } from '../crdt/types.js';
import type { Resolver, SiblingInfo } from './resolvers.js';

/** Nothing to settle: the siblings are returned as they are. */
export const UNSETTLED: unique symbol = Symbol('unsettled');

/**
 * The one value `siblings` (two or more) settle into, or {@link UNSETTLED}. CRDTs of one
 * class merge when `mergeCrdts`; a mix of CRDT classes or of CRDTs and plain values is left
 * to the resolver, which sees the values as they are.
 */
export function settleSiblings<T>(
  siblings: readonly T[],
  info: readonly SiblingInfo[],
  resolve: Resolver<T> | undefined,
  mergeCrdts: boolean,
): T | typeof UNSETTLED {
  if (siblings.length < 2) return UNSETTLED;
  if (mergeCrdts && siblings.every(isCrdt)) {
    const first = siblings[0] as Crdt;
    if (siblings.every((s) => (s as Crdt).constructor === first.constructor)) {
      let merged = first;
      for (let i = 1; i < siblings.length; i++) merged = (merged as { merge(o: Crdt): Crdt }).merge(siblings[i] as Crdt);
      return merged as T;
    }
  }
  return resolve === undefined ? UNSETTLED : resolve(siblings, info);
}
