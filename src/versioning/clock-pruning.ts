/**
 * Clock pruning: bounding a key's causal history by entry count and age, as Dynamo does.
 *
 * Source: DeCandia et al., SOSP 2007, §4.4: "along with each (node, counter) pair, Dynamo
 * stores a timestamp that indicates the last time the node updated the data item. When the
 * number of (node, counter) pairs in the vector clock reaches a threshold (say 10), the
 * oldest pair is removed from the clock." The thresholds are riak_core's (`small_vclock`,
 * `big_vclock`, `young_vclock`, `old_vclock`; see `prune` in ./version-vector.ts).
 *
 * What is pruned: an actor of the key's history (its vector entry and its cloud dots, all
 * together) that no stored value's dot belongs to, whose time is known (./actor-times.ts),
 * chosen by riak's rule over the whole history: oldest first; nothing while the history has
 * at most `small` actors or the oldest is younger than `youngMs`; otherwise drop while over
 * `big` or older than `oldMs`. Actors that still name a value, or whose time is unknown,
 * count toward the size but are passed over. Then the cloud is bounded on its own
 * (`boundCloud`): at most `big` dots besides the stored values' dots and each actor's
 * newest dot, oldest first, since
 * gaps left by the member's writes of other keys keep a busy actor's dots from ever
 * folding into its vector entry.
 *
 * Why no value is ever lost (the argument docs/design.md "Clock pruning" repeats):
 * 1. A history only ever removes values: `update` drops the stored values its client's
 *    context covers, `sync` drops a value one side holds when the other side's context
 *    covers its dot. Both are monotone in the context, and pruning only shrinks it and
 *    never touches a value, so every later write or merge drops at most what it would have
 *    dropped without pruning.
 * 2. The one way a forgotten entry could do harm is a reissued dot: two values under one
 *    dot, one of which a merge would discard. A dot's counter is one above the highest the
 *    actor has issued for *any* key (`floor` in dvvset.ts `update`, the persisted
 *    `DotCounter`), so forgetting an actor's history of a key never lets it reuse a dot.
 * 3. Only actors without a current value are pruned, so the history still covers every
 *    value it holds, and a client that read the key still supersedes everything it saw.
 *
 * The price is false siblings: a replica that missed the write superseding one of a pruned
 * actor's versions (it was down, partitioned, or the hint is late) can bring that version
 * back as a sibling, since the pruned history no longer remembers it was superseded. The
 * next write with a context from `get` supersedes it again. `youngMs`/`oldMs` keep this
 * rare: an actor is forgotten only once its last write is older than any copy in flight
 * should be.
 *
 * Times are stamped, not trusted to arrive: an actor whose time is unknown (a format 1
 * record, a write stored where no clock was at hand, an actor only a client's context named)
 * gets the storing replica's current time, which is never earlier than the actor's last
 * write. So an unknown age can delay pruning by up to `oldMs`, never bring it forward.
 * Likewise times are kept in seconds rounded up: an age is underestimated by less than a
 * second, never overestimated.
 * @module
 */
import { ValidationError } from '../errors.js';
import { prune, type PruneOptions } from './version-vector.js';
import { actorsOf, toTime, type ActorTimes } from './actor-times.js';
import type { DVVSet } from './dvvset.js';

/**
 * `set` with every actor of unknown time stamped with the clock reading `nowMs` (kept in
 * whole seconds, rounded up); `set` itself when no time is unknown.
 */
export function stampTimes<V>(set: DVVSet<V>, nowMs: number): DVVSet<V> {
  if (typeof nowMs !== 'number' || !Number.isFinite(nowMs) || nowMs < 0 || nowMs > Number.MAX_SAFE_INTEGER) {
    throw new ValidationError(`nowMs must be a finite number from 0 to 2^53 - 1, got ${nowMs}`);
  }
  const now = toTime(nowMs);
  const times = set.times ?? [];
  const { vv, cloud } = set.context;
  // Every timed actor is one of the context's, so equal counts mean nothing is unknown.
  if (times.length === vv.length && cloud.length === 0) return set;
  const actors = actorsOf(set.context);
  if (times.length === actors.length) return set;
  const stamped: (readonly [string, number])[] = new Array(actors.length);
  let j = 0;
  for (let i = 0; i < actors.length; i++) {
    const actor = actors[i]!;
    const known = times[j];
    if (known !== undefined && known[0] === actor) {
      stamped[i] = known;
      j++;
    } else {
      stamped[i] = [actor, now];
    }
  }
  return { context: set.context, values: set.values, times: stamped };
}

/**
 * `set` with the actors riak's rule drops (see the module doc) forgotten: their vector
 * entries, cloud dots and times; then the cloud bounded by {@link boundCloud} with `big`.
 * Returns `set` itself when nothing is dropped.
 */
export function pruneVersions<V>(set: DVVSet<V>, nowMs: number, options: PruneOptions): DVVSet<V> {
  return boundCloud(pruneActors(set, nowMs, options), options.big);
}

function pruneActors<V>(set: DVVSet<V>, nowMs: number, options: PruneOptions): DVVSet<V> {
  const { vv, cloud } = set.context;
  if (vv.length + cloud.length <= options.small) return set;
  const actors = actorsOf(set.context);
  if (actors.length <= options.small) return set;
  const times: ActorTimes = set.times ?? [];
  const withValue = new Set<string>();
  for (const v of set.values) withValue.add(v.dot.actor);
  const candidates: { actor: string; timestamp: number }[] = [];
  for (const [actor, seconds] of times) if (!withValue.has(actor)) candidates.push({ actor, timestamp: seconds * 1000 });
  // riak's rule over the whole history, passing over the actors that may not go: they
  // count toward `small` and `big`, so those thresholds shrink by their number.
  const fixed = actors.length - candidates.length;
  const kept = prune(candidates, nowMs, {
    small: Math.max(0, options.small - fixed),
    big: Math.max(0, options.big - fixed),
    youngMs: options.youngMs,
    oldMs: options.oldMs,
  });
  if (kept.length === candidates.length) return set;
  const dropped = new Set<string>(candidates.map((c) => c.actor));
  for (const k of kept) dropped.delete(k.actor);
  const context = { vv: vv.filter((e) => !dropped.has(e[0])), cloud: cloud.filter((d) => !dropped.has(d.actor)) };
  const left = times.filter((e) => !dropped.has(e[0]));
  return left.length === 0 ? { context, values: set.values } : { context, values: set.values, times: left };
}

/**
 * `set` with its cloud cut down to at most `max` spare dots: dots that are neither the dot
 * of a stored value nor their actor's newest dot in the cloud. The excess goes oldest first
 * (the lowest counter of the actor with the most spare dots, ties to the lower actor), so
 * every replica cuts the same way. No vector entry is touched, a value's own dot stays
 * covered, and every actor keeps its newest dot, so whether an actor is in the history at
 * all is still up to actor pruning (riak's rule with its ages); since an actor's dots are
 * numbered over all keys, most actors of a key are one cloud dot and nothing else. The
 * cloud is thus at most `max` + (actors) + (values) long. Returns `set` itself when nothing
 * is dropped.
 *
 * Why the cloud needs a bound of its own (docs/design.md "Cloud growth"): an actor's dots
 * are numbered by one counter over all keys, so a member that writes other keys between
 * writes of this one leaves gaps its vector entry can never close, and each write adds a
 * cloud dot; the actor keeps a value, so actor pruning never forgets it. A dropped dot is
 * not a value here, so its version was superseded by a write that had seen it; forgetting
 * that only shrinks the context (at worst a stale copy of that version comes back as a
 * false sibling), which is safe by the same argument as pruning a whole actor.
 */
export function boundCloud<V>(set: DVVSet<V>, max: number): DVVSet<V> {
  const cloud = set.context.cloud;
  if (cloud.length <= max) return set;
  const valueDots = new Set<string>();
  for (const v of set.values) valueDots.add(`${v.dot.counter}@${v.dot.actor}`);
  // Per actor, in cloud order (actor, then counter ascending): the spare dots' indexes.
  const lists: number[][] = [];
  let spare = 0;
  for (let i = 0; i < cloud.length; i++) {
    const d = cloud[i]!;
    if (i === 0 || cloud[i - 1]!.actor !== d.actor) lists.push([]);
    const newest = i === cloud.length - 1 || cloud[i + 1]!.actor !== d.actor;
    if (newest || valueDots.has(`${d.counter}@${d.actor}`)) continue;
    lists[lists.length - 1]!.push(i);
    spare++;
  }
  let excess = spare - max;
  if (excess <= 0) return set;
  // Water-filling: take from the actor with the most spare dots left (ties: the lower
  // actor, `lists` being in actor order), lowest counter first. The cut depends only on
  // the per-actor counts, so a replica re-cutting a merge of its copy with a cut copy
  // arrives at the same cloud, and anti-entropy settles.
  const taken = lists.map(() => 0);
  const dropped = new Set<number>();
  while (excess > 0) {
    let best = 0;
    for (let i = 1; i < lists.length; i++) {
      if (lists[i]!.length - taken[i]! > lists[best]!.length - taken[best]!) best = i;
    }
    dropped.add(lists[best]![taken[best]!]!);
    taken[best]!++;
    excess--;
  }
  // Every actor keeps a dot, so the times stay as they are.
  const context = { vv: set.context.vv, cloud: cloud.filter((_, i) => !dropped.has(i)) };
  return set.times === undefined ? { context, values: set.values } : { context, values: set.values, times: set.times };
}
