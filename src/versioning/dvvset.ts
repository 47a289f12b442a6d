/**
 * A key's causal history: a dotted version vector set with explicit dots.
 *
 * Source: Almeida, Baquero, Gonçalves, Preguiça, Fonte, "Scalable and Accurate Causality
 * Tracking for Eventually Consistent Stores", DAIS 2014 (dotted version vector sets), with
 * the causal-context-plus-dot-store join of Almeida, Shoker, Baquero, "Delta State
 * Replicated Data Types" (JPDC 2018, "causal δ-CRDTs"). riak_core's `dvvset` is the
 * reference implementation of the former.
 *
 * Why not plain per-server vector clocks (Dynamo §4.4): the clock of a new version is the
 * coordinator's counter bumped, so two clients writing through one server with stale
 * contexts either get one version wrongly marked as obsolete (a lost update), or, as Riak
 * did, every value shares one merged clock and nothing can be superseded individually, so
 * siblings pile up (the "sibling explosion"). A dot — the (actor, counter) that created one
 * value — names each version separately, which is what lets a write supersede exactly the
 * versions its context covers, while the vector stays one entry per coordinating member.
 *
 * Why explicit dots plus a "cloud" rather than riak's dvvset, whose dots per actor are
 * implicit and contiguous: the `put` API returns a context covering what the caller's
 * context covered plus the version just written, and never a version the caller has not
 * seen. Say a replica stores (a,3)=v5 and (a,2)=v2 because the caller wrote v5 having seen
 * only {a:1}, and someone else wrote v2 concurrently. The caller's new context is {a:1} plus
 * the single dot (a,3): "a up to 3" would claim v2 too, and a later write with it would
 * silently drop v2. A context is therefore a vector (everything up to `vv[actor]`) plus
 * isolated dots beyond it; a later write with {a:1}+(a,3) drops v5 and keeps v2.
 *
 * Canonical form (equal histories are deep-equal and encode to equal bytes): the vector is
 * strictly actor-sorted; the cloud is sorted by (actor, counter), holds no dot the vector
 * covers, and is compacted (a dot (a, vv[a]+1) is folded into the vector, repeatedly);
 * values are sorted by (actor asc, counter desc), their dots distinct and covered by the
 * context. Every function here returns canonical data given canonical data.
 * @module
 */
import { ValidationError } from '../errors.js';
import { EMPTY_VV, counterOf, isVersionVector, mergeVV, type VersionVector } from './version-vector.js';
import { joinTimes, timesProblem, withoutTime, type ActorTimes } from './actor-times.js';

/** The identity of one version: the `counter`-th write coordinated by `actor`. */
export interface Dot {
  readonly actor: string;
  readonly counter: number;
}

/** A causal context: every dot with `counter <= vv[actor]`, plus the isolated dots of `cloud`. */
export interface CausalContext {
  readonly vv: VersionVector;
  readonly cloud: readonly Dot[];
}

/** A value with the dot that created it. */
export interface DottedValue<V> {
  readonly dot: Dot;
  readonly value: V;
}

/** A key's versions: the causal history seen, and the values (siblings) still current. */
export interface DVVSet<V> {
  readonly context: CausalContext;
  readonly values: readonly DottedValue<V>[];
  /**
   * When each actor of `context` last coordinated a write (./actor-times.ts), for clock
   * pruning. Carried along by `update` and `sync`, never consulted by them; absent means
   * every time is unknown.
   */
  readonly times?: ActorTimes;
}

/** `{ context, values }` with `times` only when it holds something (absent = empty). */
function makeSet<V>(context: CausalContext, values: readonly DottedValue<V>[], times: ActorTimes): DVVSet<V> {
  return times.length === 0 ? { context, values } : { context, values, times };
}

/** The context that has seen nothing: a write with it supersedes nothing. */
export const EMPTY_CONTEXT: CausalContext = Object.freeze({ vv: EMPTY_VV, cloud: Object.freeze([]) as readonly Dot[] });

/** A key nobody has written. */
export function emptySet<V>(): DVVSet<V> {
  return { context: EMPTY_CONTEXT, values: [] };
}

/** Order of cloud dots: actor ascending, counter ascending. */
function compareDots(x: Dot, y: Dot): number {
  if (x.actor !== y.actor) return x.actor < y.actor ? -1 : 1;
  return x.counter - y.counter;
}

/** Order of values: actor ascending, counter descending (newest first, as riak's dvvset). */
function compareValueDots(x: Dot, y: Dot): number {
  if (x.actor !== y.actor) return x.actor < y.actor ? -1 : 1;
  return y.counter - x.counter;
}

function sameDot(x: Dot, y: Dot): boolean {
  return x.actor === y.actor && x.counter === y.counter;
}

function isDot(d: unknown): d is Dot {
  if (typeof d !== 'object' || d === null) return false;
  const { actor, counter } = d as { actor?: unknown; counter?: unknown };
  return typeof actor === 'string' && typeof counter === 'number' && Number.isSafeInteger(counter) && counter >= 1;
}

function cloudHas(cloud: readonly Dot[], dot: Dot): boolean {
  let lo = 0;
  let hi = cloud.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareDots(cloud[mid]!, dot);
    if (c === 0) return true;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** Whether the history `ctx` includes the version `dot`. */
export function covers(ctx: CausalContext, dot: Dot): boolean {
  return dot.counter <= counterOf(ctx.vv, dot.actor) || (ctx.cloud.length > 0 && cloudHas(ctx.cloud, dot));
}

/** The highest counter of `actor` that `ctx` has seen, in the vector or the cloud; 0 if none. */
export function maxCounter(ctx: CausalContext, actor: string): number {
  let max = counterOf(ctx.vv, actor);
  for (const d of ctx.cloud) if (d.actor === actor && d.counter > max) max = d.counter;
  return max;
}

/**
 * Canonical context from a vector and a sorted, duplicate-free list of dots: drops the dots
 * the vector covers and folds each (a, vv[a]+1) into the vector, repeatedly.
 */
function compact(vv: VersionVector, cloud: readonly Dot[]): CausalContext {
  if (cloud.length === 0) return { vv, cloud: [] };
  const kept: Dot[] = [];
  const raised: (readonly [string, number])[] = [];
  let actor: string | undefined;
  let base = 0;
  let top = 0;
  for (const d of cloud) {
    if (d.actor !== actor) {
      if (actor !== undefined && top > base) raised.push([actor, top]);
      actor = d.actor;
      base = counterOf(vv, actor);
      top = base;
    }
    if (d.counter <= top) continue;
    // Dots of one actor come in ascending order, so once one is kept (a gap below it),
    // none of the later ones can be adjacent to the vector either.
    if (d.counter === top + 1) top = d.counter;
    else kept.push(d);
  }
  if (actor !== undefined && top > base) raised.push([actor, top]);
  return { vv: raised.length === 0 ? vv : mergeVV(vv, raised), cloud: kept };
}

/** Merges two sorted dot lists, dropping duplicates. */
function unionDots(a: readonly Dot[], b: readonly Dot[]): readonly Dot[] {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out: Dot[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const c = compareDots(a[i]!, b[j]!);
    if (c <= 0) out.push(a[i++]!);
    else out.push(b[j++]!);
    if (c === 0) j++;
  }
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}

/** The union of two histories. */
export function mergeContexts(a: CausalContext, b: CausalContext): CausalContext {
  if (a === b) return a;
  const vv = mergeVV(a.vv, b.vv);
  if (a.cloud.length === 0 && b.cloud.length === 0) return { vv, cloud: [] };
  return compact(vv, unionDots(a.cloud, b.cloud));
}

/** `ctx` plus the single version `dot`. */
export function addDot(ctx: CausalContext, dot: Dot): CausalContext {
  if (!isDot(dot)) throw new ValidationError('a dot needs a string actor and a safe integer counter >= 1');
  if (covers(ctx, dot)) return ctx;
  // A copy: the caller's object may carry other fields, and canonical data is plain data.
  return compact(ctx.vv, unionDots(ctx.cloud, [{ actor: dot.actor, counter: dot.counter }]));
}

function insertValue<V>(values: DottedValue<V>[], entry: DottedValue<V>): void {
  let i = 0;
  while (i < values.length && compareValueDots(values[i]!.dot, entry.dot) < 0) i++;
  values.splice(i, 0, entry);
}

/** What a coordinated write produced. */
export interface UpdateResult<V> {
  /** The key's new versions at the coordinating replica. */
  readonly set: DVVSet<V>;
  /** The dot of the value just written. */
  readonly dot: Dot;
  /**
   * The context to hand back to the writer: the client's context plus `dot`, with the gaps
   * below cloud dots filled where this replica knows every version in the gap is obsolete.
   * Among the versions still current it covers exactly what `addDot(client, dot)` covers,
   * so it never claims a sibling the writer has not seen; the filling keeps writers that
   * only ever write with returned contexts from growing a dot per write. One case still
   * grows: while a sibling the writer never saw sits below its own writes, each write adds
   * a dot (a cloud holds single dots, not ranges); a `get` returns the whole history and
   * ends it.
   */
  readonly context: CausalContext;
}

/**
 * A write coordinated by replica `actor`: drops exactly the stored values `client` covers,
 * and adds `value` under a fresh dot of `actor`. The result's context is
 * `stored.context ∪ client ∪ {dot}`.
 *
 * The dot's counter is one above the highest counter of `actor` in the stored history or
 * in the client's context. Only this replica issues `actor`'s dots, so normally the stored
 * history is the higher; taking the client's into account too means a replica that has
 * lost part of its history can never reissue a dot that already names another value.
 * `floor` (the highest counter `actor` has issued for any key) closes the last gap: a
 * stand-in that handed its copy of the key to the owner and dropped it has neither history
 * left, and must still not reissue a dot. (It is also what makes clock pruning safe: a
 * pruned entry no longer tells `actor` where its counter stood.)
 *
 * `actor`'s time becomes unknown (it is writing now; the caller stamps it), and so are the
 * times of actors only the client's context names.
 */
export function update<V>(stored: DVVSet<V>, client: CausalContext, actor: string, value: V, floor = 0): UpdateResult<V> {
  if (typeof actor !== 'string') throw new ValidationError('actor must be a string');
  const counter = Math.max(maxCounter(stored.context, actor), maxCounter(client, actor), floor) + 1;
  if (!Number.isSafeInteger(counter)) throw new ValidationError(`the counter of actor ${JSON.stringify(actor)} is exhausted`);
  const dot: Dot = { actor, counter };
  const values = stored.values.filter((v) => !covers(client, v.dot));
  insertValue(values, { dot, value });
  const context = addDot(mergeContexts(stored.context, client), dot);
  const set = makeSet(context, values, withoutTime(stored.times, actor));
  return { set, dot, context: writerContext(context, values, client, dot) };
}

/**
 * `client ∪ {dot}`, then for each actor with cloud dots, the vector raised as far as the
 * history `full` reaches without claiming a current value outside `client ∪ {dot}`. Such a
 * dot is in `full` yet no longer stored, i.e. some write that had seen it superseded it, so
 * claiming it cannot drop anything that would otherwise survive a sync.
 */
function writerContext<V>(full: CausalContext, values: readonly DottedValue<V>[], client: CausalContext, dot: Dot): CausalContext {
  const mine = addDot(client, dot);
  if (mine.cloud.length === 0) return mine;
  const raised: (readonly [string, number])[] = [];
  let actor: string | undefined;
  for (const d of mine.cloud) {
    if (d.actor === actor) continue;
    actor = d.actor;
    let limit = counterOf(full.vv, actor);
    for (const v of values) {
      if (v.dot.actor === actor && !sameDot(v.dot, dot) && v.dot.counter <= limit) limit = v.dot.counter - 1;
    }
    if (limit > counterOf(mine.vv, actor)) raised.push([actor, limit]);
  }
  return raised.length === 0 ? mine : compact(mergeVV(mine.vv, raised), mine.cloud);
}

/**
 * The join of two replicas' versions of one key: a value survives if both hold it, or if
 * the other side has not seen its dot (had it seen it and dropped it, a write superseded
 * it). Commutative, associative and idempotent, given that a dot names one value
 * everywhere (on a clash the left argument's value is kept). Times join per actor (the
 * later, or unknown if either side has the actor untimed).
 */
export function sync<V>(a: DVVSet<V>, b: DVVSet<V>): DVVSet<V> {
  if (a === b) return a;
  const values: DottedValue<V>[] = [];
  const x = a.values;
  const y = b.values;
  let i = 0;
  let j = 0;
  while (i < x.length || j < y.length) {
    const vx = x[i];
    const vy = y[j];
    const c = vx === undefined ? 1 : vy === undefined ? -1 : compareValueDots(vx.dot, vy.dot);
    if (c === 0) {
      values.push(vx!);
      i++;
      j++;
    } else if (c < 0) {
      if (!covers(b.context, vx!.dot)) values.push(vx!);
      i++;
    } else {
      if (!covers(a.context, vy!.dot)) values.push(vy!);
      j++;
    }
  }
  return makeSet(mergeContexts(a.context, b.context), values, joinTimes(a.context, a.times, b.context, b.times));
}

/** Whether two contexts are the same history (canonical form makes this structural). */
export function equalContexts(a: CausalContext, b: CausalContext): boolean {
  if (a === b) return true;
  if (a.vv.length !== b.vv.length || a.cloud.length !== b.cloud.length) return false;
  for (let i = 0; i < a.vv.length; i++) {
    const p = a.vv[i]!;
    const q = b.vv[i]!;
    if (p[0] !== q[0] || p[1] !== q[1]) return false;
  }
  for (let i = 0; i < a.cloud.length; i++) if (!sameDot(a.cloud[i]!, b.cloud[i]!)) return false;
  return true;
}

/**
 * Whether two replicas hold the same versions: same history and same value dots (a dot
 * names its value, so the values themselves are not compared).
 */
export function equivalent<V>(a: DVVSet<V>, b: DVVSet<V>): boolean {
  if (a === b) return true;
  if (a.values.length !== b.values.length || !equalContexts(a.context, b.context)) return false;
  for (let i = 0; i < a.values.length; i++) if (!sameDot(a.values[i]!.dot, b.values[i]!.dot)) return false;
  return true;
}

/** The current values (siblings), in canonical order. */
export function valuesOf<V>(set: DVVSet<V>): V[] {
  return set.values.map((v) => v.value);
}

/** Why `ctx` is not a canonical context, or `undefined` when it is. */
export function contextProblem(ctx: unknown): string | undefined {
  if (typeof ctx !== 'object' || ctx === null) return 'a context must be an object';
  const { vv, cloud } = ctx as { vv?: unknown; cloud?: unknown };
  if (!isVersionVector(vv)) return 'the vector must be [actor, counter] pairs, strictly sorted by actor, counters safe integers >= 1';
  if (!Array.isArray(cloud)) return 'the cloud must be an array of dots';
  let previous: Dot | undefined;
  for (const d of cloud as unknown[]) {
    if (!isDot(d)) return 'a cloud dot needs a string actor and a safe integer counter >= 1';
    if (previous !== undefined && compareDots(previous, d) >= 0) return 'the cloud must be strictly sorted by (actor, counter)';
    if (previous?.actor !== d.actor) {
      // Only an actor's lowest cloud dot can be next to the vector; the rest sit above it.
      const seen = counterOf(vv, d.actor);
      if (d.counter <= seen) return 'the cloud must not hold a dot the vector covers';
      if (d.counter === seen + 1) return 'the cloud must be compacted into the vector';
    }
    previous = d;
  }
  return undefined;
}

/**
 * Why `set` is not a canonical DVV set, or `undefined` when it is. `isValue` checks each
 * value's payload. `times`, when present, must be canonical for the context.
 */
export function setProblem<V>(set: unknown, isValue: (value: unknown) => value is V): string | undefined {
  if (typeof set !== 'object' || set === null) return 'versions must be an object';
  const { context, values, times } = set as { context?: unknown; values?: unknown; times?: unknown };
  const problem = contextProblem(context);
  if (problem !== undefined) return problem;
  if (times !== undefined) {
    const timeProblem = timesProblem(times, context as CausalContext);
    if (timeProblem !== undefined) return timeProblem;
  }
  if (!Array.isArray(values)) return 'values must be an array';
  let previous: Dot | undefined;
  for (const v of values as unknown[]) {
    if (typeof v !== 'object' || v === null) return 'a value entry must be an object';
    const { dot, value } = v as { dot?: unknown; value?: unknown };
    if (!isDot(dot)) return 'a value dot needs a string actor and a safe integer counter >= 1';
    if (previous !== undefined && compareValueDots(previous, dot) >= 0) {
      return 'values must be strictly sorted by (actor ascending, counter descending)';
    }
    if (!covers(context as CausalContext, dot)) return 'every value dot must be covered by the context';
    if (!isValue(value)) return 'a value has the wrong type';
    previous = dot;
  }
  return undefined;
}
