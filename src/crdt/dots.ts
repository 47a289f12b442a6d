/**
 * Dots and causal contexts for the causal CRDTs (ORSet, ORMap).
 *
 * Source: Almeida, Shoker, Baquero, "Delta State Replicated Data Types", JPDC 2018, §6
 * ("causal δ-CRDTs"): a state is a dot store plus the causal context of every dot ever seen.
 * A dot still in the store is live; a dot the context has but the store lacks was removed,
 * so no tombstone is kept. Joining two states keeps a dot that both stores hold, or that one
 * holds and the other's context has never seen. The contexts are ../versioning/dvvset.ts's
 * (a version vector plus a compacted cloud of isolated dots): deltas carry contexts with gaps.
 * @module
 */
import { ValidationError } from '../errors.js';
import {
  EMPTY_CONTEXT,
  covers,
  maxCounter,
  mergeContexts,
  type CausalContext,
  type Dot,
} from '../versioning/dvvset.js';
import { EMPTY_VV, counterOf } from '../versioning/version-vector.js';
import { isWellFormed } from './plain-value.js';

export type { CausalContext, Dot } from '../versioning/dvvset.js';
export { EMPTY_CONTEXT, addDot, contextProblem, covers, equalContexts, mergeContexts } from '../versioning/dvvset.js';

/** Dots sorted by (actor, counter), no two equal. */
export type Dots = readonly Dot[];

/** Why `actor` cannot name a replica, or `undefined` when it can. */
export function actorProblem(actor: unknown): string | undefined {
  if (typeof actor !== 'string' || actor.length === 0) return 'an actor must be a non-empty string';
  // UTF-8 turns every lone surrogate into U+FFFD: two such actors would encode the same.
  if (!isWellFormed(actor)) return 'an actor must be well-formed Unicode (it has a lone surrogate)';
  return undefined;
}

/** `actor`, or a `ValidationError` saying why it cannot name a replica. */
export function checkActor(actor: unknown): string {
  const problem = actorProblem(actor);
  if (problem !== undefined) throw new ValidationError(`${problem}, got ${typeof actor === 'string' ? JSON.stringify(actor) : typeof actor}`);
  return actor as string;
}

/** Order of dots: actor ascending (UTF-16 code units), then counter ascending. */
export function compareDots(x: Dot, y: Dot): number {
  if (x.actor !== y.actor) return x.actor < y.actor ? -1 : 1;
  return x.counter - y.counter;
}

/** A string naming `dot`, for sets and maps of dots. */
export function dotKey(dot: Dot): string {
  return `${dot.counter} ${dot.actor}`;
}

/** The next event of `actor` after everything `ctx` has seen of it. */
export function nextDot(ctx: CausalContext, actor: string): Dot {
  const counter = maxCounter(ctx, actor) + 1;
  if (!Number.isSafeInteger(counter)) throw new ValidationError(`the counter of actor ${JSON.stringify(actor)} is exhausted`);
  return { actor, counter };
}

/** `ctx` plus `dots` (sorted, distinct). */
export function withDots(ctx: CausalContext, dots: Dots): CausalContext {
  return dots.length === 0 ? ctx : mergeContexts(ctx, { vv: EMPTY_VV, cloud: dots });
}

/** The context that has seen exactly `dots` (sorted, distinct): a delta's. */
export function contextOf(dots: Dots): CausalContext {
  return withDots(EMPTY_CONTEXT, dots);
}

/** Whether `big` has seen every dot `small` has (both canonical). */
export function includes(big: CausalContext, small: CausalContext): boolean {
  // A canonical context's cloud never holds (a, vv[a] + 1): if big's vector stops short of
  // small's, the dot just above it is missing from big altogether.
  for (const [actor, counter] of small.vv) if (counterOf(big.vv, actor) < counter) return false;
  for (const dot of small.cloud) if (!covers(big, dot)) return false;
  return true;
}

/**
 * The join of two dot sets with their contexts: the dots both hold, and those either holds
 * that the other has never seen.
 */
export function joinDots(a: Dots, ca: CausalContext, b: Dots, cb: CausalContext): Dots {
  if (a === b) return a;
  const out: Dot[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    const c = x === undefined ? 1 : y === undefined ? -1 : compareDots(x, y);
    if (c === 0) {
      out.push(x!);
      i++;
      j++;
    } else if (c < 0) {
      if (!covers(cb, x!)) out.push(x!);
      i++;
    } else {
      if (!covers(ca, y!)) out.push(y!);
      j++;
    }
  }
  return out;
}

/** Whether two dot lists are the same. */
export function equalDots(a: Dots, b: Dots): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (compareDots(a[i]!, b[i]!) !== 0) return false;
  return true;
}

/**
 * Whether the causal state (`bigCtx`, dots at `bigAt`) is at or above (`smallCtx`,
 * `smallAt`) in the lattice order, i.e. joining the small one into the big one changes
 * nothing: the big context includes the small one, and every live dot of the big store that
 * the small context has seen is live in the small store at the same place (otherwise the
 * small state removed it, and the big one has not seen that removal). `…At` map a dot's
 * {@link dotKey} to its place (and value) in the store.
 */
export function causalDescends(
  bigCtx: CausalContext,
  bigAt: ReadonlyMap<string, { readonly dot: Dot; readonly at: string }>,
  smallCtx: CausalContext,
  smallAt: ReadonlyMap<string, { readonly dot: Dot; readonly at: string }>,
): boolean {
  if (!includes(bigCtx, smallCtx)) return false;
  for (const [key, { dot, at }] of bigAt) {
    if (covers(smallCtx, dot) && smallAt.get(key)?.at !== at) return false;
  }
  return true;
}
