/**
 * When each actor of a key's history last coordinated a write of it: the side data that
 * clock pruning (./clock-pruning.ts, Dynamo §4.4's "timestamp … of the last time the node
 * updated the data item") needs, carried next to a DVV set's causal context.
 *
 * Kept beside the context rather than inside it, so the causal algebra of dvvset.ts is
 * untouched: a time never decides what supersedes what, it only decides which entries of
 * the history may be forgotten.
 *
 * Canonical form: `[actor, seconds]` pairs, strictly sorted by actor (plain string `<`, as
 * everywhere), `seconds` a safe integer >= 0, and every actor one the context names (in its
 * vector or its cloud). Times are whole seconds, as Riak keeps them, rounded *up* from the
 * clock's milliseconds (so rounding only ever makes an entry look younger): present-day
 * times fit 32 bits, which CBOR writes in 5 bytes and reads without a float. An actor of the context without a pair has an *unknown* time.
 * Unknown is the top of the order ("at least as recent as anything known"): the join of
 * unknown and any time is unknown, because a time that may be stale must never make an
 * entry look older than it is. Absent and empty `times` mean the same; the functions here
 * return sets without the field when it would be empty.
 * @module
 */
import type { CausalContext } from './dvvset.js';
import { counterOf } from './version-vector.js';

/** `[actor, seconds]` pairs, strictly sorted by actor: the last write each actor coordinated. */
export type ActorTimes = readonly (readonly [actor: string, seconds: number])[];

/** No time known for any actor. */
export const NO_TIMES: ActorTimes = Object.freeze([]);

/** The distinct actors `ctx` names, in its vector or its cloud, sorted. */
export function actorsOf(ctx: CausalContext): string[] {
  const { vv, cloud } = ctx;
  if (cloud.length === 0) return vv.map((e) => e[0]);
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < vv.length || j < cloud.length) {
    const a = vv[i]?.[0];
    const b = cloud[j]?.actor;
    const next = a === undefined ? b! : b === undefined ? a : a < b ? a : b;
    if (out[out.length - 1] !== next) out.push(next);
    if (a === next) i++;
    if (b === next) j++;
  }
  return out;
}

/** Whether `ctx` names `actor`, in its vector or its cloud. */
export function hasActor(ctx: CausalContext, actor: string): boolean {
  if (counterOf(ctx.vv, actor) > 0) return true;
  const cloud = ctx.cloud;
  let lo = 0;
  let hi = cloud.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const a = cloud[mid]!.actor;
    if (a === actor) return true;
    if (a < actor) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** The time of `actor`, `undefined` when unknown (or not in the history). */
export function timeOf(times: ActorTimes | undefined, actor: string): number | undefined {
  if (times === undefined) return undefined;
  let lo = 0;
  let hi = times.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const entry = times[mid]!;
    if (entry[0] === actor) return entry[1];
    if (entry[0] < actor) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

/**
 * The times of the union of two histories: per actor the later time, or unknown when
 * either side names the actor without a time.
 */
export function joinTimes(a: CausalContext, ta: ActorTimes | undefined, b: CausalContext, tb: ActorTimes | undefined): ActorTimes {
  const x = ta ?? NO_TIMES;
  const y = tb ?? NO_TIMES;
  if (x.length === 0 && y.length === 0) return NO_TIMES;
  const out: (readonly [string, number])[] = [];
  let i = 0;
  let j = 0;
  while (i < x.length || j < y.length) {
    const p = x[i];
    const q = y[j];
    if (p !== undefined && q !== undefined && p[0] === q[0]) {
      out.push(p[1] >= q[1] ? p : q);
      i++;
      j++;
    } else if (q === undefined || (p !== undefined && p[0] < q[0])) {
      // Only `a` has a time for this actor: it stands unless `b` names the actor untimed.
      if (!hasActor(b, p![0])) out.push(p!);
      i++;
    } else {
      if (!hasActor(a, q[0])) out.push(q);
      j++;
    }
  }
  return out;
}

/** `times` without `actor`'s entry (its time becomes unknown). */
export function withoutTime(times: ActorTimes | undefined, actor: string): ActorTimes {
  if (times === undefined || times.length === 0) return NO_TIMES;
  const i = times.findIndex((e) => e[0] === actor);
  if (i < 0) return times;
  return times.slice(0, i).concat(times.slice(i + 1));
}

/** Entry-by-entry equality; absent and empty are equal. */
export function equalTimes(a: ActorTimes | undefined, b: ActorTimes | undefined): boolean {
  const x = a ?? NO_TIMES;
  const y = b ?? NO_TIMES;
  if (x === y) return true;
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) {
    const p = x[i]!;
    const q = y[i]!;
    if (p[0] !== q[0] || p[1] !== q[1]) return false;
  }
  return true;
}

/** Whether `t` is a valid time: a safe integer >= 0 (seconds). */
export function isTime(t: unknown): t is number {
  return typeof t === 'number' && Number.isSafeInteger(t) && t >= 0;
}

/** The time a clock reading of `ms` milliseconds is kept as: whole seconds, rounded up. */
export function toTime(ms: number): number {
  return Math.ceil(ms / 1000);
}

/** Why `times` is not canonical for the history `ctx`, or `undefined` when it is. */
export function timesProblem(times: unknown, ctx: CausalContext): string | undefined {
  if (!Array.isArray(times)) return 'times must be an array of [actor, seconds] pairs';
  let previous: string | undefined;
  for (const entry of times as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 2) return 'a time must be an [actor, seconds] pair';
    const [actor, t] = entry as unknown[];
    if (typeof actor !== 'string' || !isTime(t)) return 'a time needs a string actor and a safe integer >= 0 (seconds)';
    if (previous !== undefined && !(previous < actor)) return 'times must be strictly sorted by actor';
    if (!hasActor(ctx, actor)) return 'a time must belong to an actor of the context';
    previous = actor;
  }
  return undefined;
}
