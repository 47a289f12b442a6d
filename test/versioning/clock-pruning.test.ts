import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ValidationError } from '../../src/errors.js';
import { RIAK_PRUNE_DEFAULTS, vv, type PruneOptions } from '../../src/versioning/version-vector.js';
import {
  EMPTY_CONTEXT,
  emptySet,
  setProblem,
  sync,
  update,
  type CausalContext,
  type DVVSet,
} from '../../src/versioning/dvvset.js';
import { actorsOf, equalTimes, hasActor, joinTimes, timeOf, type ActorTimes } from '../../src/versioning/actor-times.js';
import { pruneVersions, stampTimes } from '../../src/versioning/clock-pruning.js';

function ctx(v: Record<string, number>, cloud: [string, number][] = []): CausalContext {
  return { vv: vv(v), cloud: cloud.map(([actor, counter]) => ({ actor, counter })) };
}
function dvv(v: Record<string, number>, values: [string, number][], times?: ActorTimes, cloud: [string, number][] = []): DVVSet<string> {
  const set: DVVSet<string> = { context: ctx(v, cloud), values: values.map(([actor, counter]) => ({ dot: { actor, counter }, value: `${actor}${counter}` })) };
  return times === undefined ? set : { ...set, times };
}
const isString = (x: unknown): x is string => typeof x === 'string';
const actorsOfSet = (set: DVVSet<unknown>) => actorsOf(set.context);

test('actorsOf lists the actors of the vector and the cloud once each, sorted', () => {
  assert.deepEqual(actorsOf(ctx({ b: 1, d: 2 }, [['a', 3], ['a', 5], ['c', 2], ['d', 4]])), ['a', 'b', 'c', 'd']);
  assert.deepEqual(actorsOf(EMPTY_CONTEXT), []);
  const c = ctx({ b: 1 }, [['a', 3]]);
  assert.ok(hasActor(c, 'a') && hasActor(c, 'b') && !hasActor(c, 'c') && !hasActor(c, '__proto__'));
});

test('times join per actor: the later one, unknown if either side has the actor untimed', () => {
  const a = ctx({ x: 1, y: 1, z: 1 });
  const b = ctx({ x: 2, y: 2, w: 1 });
  // x: both timed → max; y: b untimed → unknown; z: only a names it → a's; w: only b, timed.
  assert.deepEqual(joinTimes(a, [['x', 5], ['y', 7], ['z', 3]], b, [['w', 9], ['x', 8]]), [['w', 9], ['x', 8], ['z', 3]]);
  assert.deepEqual(joinTimes(a, undefined, b, undefined), []);
  assert.ok(equalTimes(undefined, []));
  assert.ok(!equalTimes([['x', 1]], [['x', 2]]));
});

test('update leaves the writer untimed (the store stamps it) and keeps the other times', () => {
  const stored = dvv({ a: 1, b: 1 }, [['a', 1], ['b', 1]], [['a', 10], ['b', 20]]);
  const { set } = update(stored, ctx({ a: 1, c: 4 }), 'a', 'new');
  // c came from the client's context only: unknown too.
  assert.deepEqual(set.times, [['b', 20]]);
  assert.equal(setProblem(set, isString), undefined);
  // Times are whole seconds, rounded up from the clock's milliseconds.
  const stamped = stampTimes(set, 98_001);
  assert.deepEqual(stamped.times, [['a', 99], ['b', 20], ['c', 99]]);
  assert.equal(stampTimes(stamped, 500_000), stamped, 'nothing unknown: the same object');
});

test('sync of two stamped replicas keeps the later time of each actor', () => {
  const base = stampTimes(update(emptySet<string>(), EMPTY_CONTEXT, 'a', 'v1').set, 10_000);
  const left = stampTimes(update(base, base.context, 'a', 'v2').set, 30_000);
  const right = stampTimes(update(base, EMPTY_CONTEXT, 'b', 'w').set, 20_000);
  const merged = sync(left, right);
  assert.deepEqual(merged.times, [['a', 30], ['b', 20]]);
  assert.deepEqual(sync(right, left).times, merged.times);
});

test('stampTimes refuses a clock reading that is not a finite number >= 0', () => {
  const set = update(emptySet<string>(), EMPTY_CONTEXT, 'a', 'v').set;
  for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '5' as unknown as number]) assert.throws(() => stampTimes(set, bad), ValidationError);
  assert.deepEqual(stampTimes(set, 0.5).times, [['a', 1]], 'a fraction of a millisecond rounds up too');
});

test('setProblem checks times against the context', () => {
  const good = dvv({ a: 1, b: 2 }, [['a', 1]], [['a', 1], ['b', 2]]);
  assert.equal(setProblem(good, isString), undefined);
  const bad: [string, unknown][] = [
    ['not an array', 5],
    ['unsorted', [['b', 1], ['a', 1]]],
    ['duplicate', [['a', 1], ['a', 2]]],
    ['an actor outside the context', [['c', 1]]],
    ['negative', [['a', -1]]],
    ['fractional', [['a', 0.5]]],
    ['not a pair', [['a']]],
  ];
  for (const [name, times] of bad) assert.notEqual(setProblem({ ...good, times }, isString), undefined, name);
});

// Actors o00, o01, … last written at 0 s, 1 s, …
const old = (n: number) => Array.from({ length: n }, (_, i) => [`o${String(i).padStart(2, '0')}`, i] as const);

test('pruneVersions drops the oldest actors without a value down to `big`, with their cloud dots', () => {
  const NOW = 1_000_000;
  // Six actors: o00..o04 without values (at 0..4 s), v with the only value (0 s, the oldest).
  const times: ActorTimes = [...old(5), ['v', 0]];
  const set = dvv({ o00: 1, o01: 1, o02: 1, o03: 1, o04: 1, v: 1 }, [['v', 1]], times, [['o00', 3], ['o03', 7]]);
  const pruned = pruneVersions(set, NOW, { small: 2, big: 3, youngMs: 10, oldMs: 10 * NOW });
  assert.deepEqual(actorsOfSet(pruned), ['o03', 'o04', 'v'], 'the value keeps v; o00..o02 go, oldest first');
  assert.deepEqual(pruned.context.cloud, [{ actor: 'o03', counter: 7 }]);
  assert.deepEqual(pruned.times, [['o03', 3], ['o04', 4], ['v', 0]]);
  assert.equal(setProblem(pruned, isString), undefined);
  assert.deepEqual(pruned.values, set.values);
});

test('pruneVersions: at most `small` actors, young actors and untimed actors are never dropped', () => {
  const set = dvv({ o00: 1, o01: 1, o02: 1, o03: 1 }, [], old(4));
  const all: PruneOptions = { small: 0, big: 0, youngMs: 0, oldMs: 0 };
  const NOW = 100_000;
  assert.equal(pruneVersions(set, NOW, { ...all, small: 4 }), set, 'at small: the same object');
  assert.equal(pruneVersions(set, NOW, { ...all, youngMs: 100_001 }), set, 'all young');
  assert.deepEqual(actorsOfSet(pruneVersions(set, NOW, { ...all, youngMs: 99_000 })), ['o02', 'o03'], 'ages 100 s and 99 s go, 98 s and 97 s are younger than 99 s');
  const untimed = dvv({ o00: 1, o01: 1, o02: 1, o03: 1 }, [], [['o01', 1]]);
  assert.deepEqual(actorsOfSet(pruneVersions(untimed, NOW, all)), ['o00', 'o02', 'o03'], 'only the timed one goes');
  assert.equal(pruneVersions(untimed, NOW, all).times, undefined);
});

test('pruneVersions: actors with values count toward the size; beyond it `old` still applies', () => {
  // Three value actors (never dropped) and three without values.
  const set = dvv({ a: 1, b: 1, c: 1, o00: 1, o01: 1, o02: 1 }, [['a', 1], ['b', 1], ['c', 1]], [['a', 0], ['b', 0], ['c', 0], ...old(3)]);
  const options = { small: 4, big: 5, youngMs: 0, oldMs: 1_000_000 };
  // Six actors, big 5: the oldest value-less one goes; o01 (age 999 s) is not old, so it stays.
  assert.deepEqual(actorsOfSet(pruneVersions(set, 1_000_000, options)), ['a', 'b', 'c', 'o01', 'o02']);
  // Later o01 and o02 are older than `old` too: o01 goes, o02 would take the history
  // below `small`.
  assert.deepEqual(actorsOfSet(pruneVersions(set, 5_000_000, options)), ['a', 'b', 'c', 'o02']);
});

test('pruning with Riak defaults: 60 value-less actors of ages 1..60 days keep the 50 youngest', () => {
  const DAY = 86_400_000;
  const actors = Array.from({ length: 60 }, (_, i) => `m${String(i).padStart(2, '0')}`);
  const times: ActorTimes = actors.map((a, i) => [a, (100 * DAY - (60 - i) * DAY) / 1000] as const);
  const set = dvv(Object.fromEntries(actors.map((a) => [a, 1])), [], times);
  const pruned = pruneVersions(set, 100 * DAY, RIAK_PRUNE_DEFAULTS);
  assert.equal(actorsOfSet(pruned).length, 50);
  assert.deepEqual(actorsOfSet(pruned), actors.slice(10));
});

// A history of one key at several replicas, with pruning at random points, and the ground
// truth of which values some write has seen (and so may supersede). A write reads a quorum
// (or reuses an older read, or reads nothing), is coordinated at one replica and replicated
// to some others. Each member's dots come from a counter over all keys (the `floor`), which
// writes to other keys make jump.
type Step =
  | { kind: 'write'; at: number; read: number[]; stale: number; blind: boolean; to: number[] }
  | { kind: 'sync'; at: number; from: number; both: boolean }
  | { kind: 'prune'; at: number }
  | { kind: 'tick'; ms: number }
  | { kind: 'other-key'; at: number; by: number };

const MEMBERS = 5;
const member = fc.nat(MEMBERS - 1);
const arbStep: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      at: member,
      read: fc.uniqueArray(member, { minLength: 1, maxLength: 3 }),
      stale: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(6) }),
      blind: fc.oneof({ weight: 7, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      to: fc.uniqueArray(member, { maxLength: 3 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('sync' as const), at: member, from: member, both: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('prune' as const), at: member }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.nat(2000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('other-key' as const), at: member, by: fc.integer({ min: 1, max: 50 }) }) },
);
const arbOptions: fc.Arbitrary<PruneOptions> = fc.record({ small: fc.nat(3), big: fc.nat(4), youngMs: fc.constantFrom(0, 1000, 3000), oldMs: fc.constantFrom(0, 2000, 10_000) });

// (Checked by mutation: with `floor` left out of `update`, pruning lets a member reissue a
// dot and this property finds lost values within a few hundred runs.)
test('property: pruning never loses a value that no write has seen (only adds siblings)', () => {
  let prunes = 0;
  fc.assert(
    fc.property(fc.array(arbStep, { minLength: 10, maxLength: 60, size: 'max' }), arbOptions, (steps, options) => {
      const actors = Array.from({ length: MEMBERS }, (_, i) => `m${i}`);
      const replicas: DVVSet<string>[] = actors.map(() => emptySet<string>());
      const floors = actors.map(() => 0);
      const reads: { context: CausalContext; seen: string[] }[] = [];
      const written = new Set<string>();
      const seen = new Set<string>();
      let now = 0;
      let next = 0;
      for (const step of steps) {
        switch (step.kind) {
          case 'write': {
            const read = step.read.map((i) => replicas[i]!).reduce((x, y) => sync(x, y));
            reads.push({ context: read.context, seen: read.values.map((v) => v.value) });
            const used = step.blind ? { context: EMPTY_CONTEXT, seen: [] } : reads[Math.max(0, reads.length - 1 - step.stale)]!;
            const value = `v${next++}`;
            const result = update(replicas[step.at]!, used.context, actors[step.at]!, value, floors[step.at]);
            floors[step.at] = result.dot.counter;
            replicas[step.at] = stampTimes(result.set, now);
            for (const j of step.to) replicas[j] = stampTimes(sync(replicas[j]!, replicas[step.at]!), now);
            written.add(value);
            for (const v of used.seen) seen.add(v);
            break;
          }
          case 'sync': {
            const merged = sync(replicas[step.at]!, replicas[step.from]!);
            replicas[step.at] = merged;
            if (step.both) replicas[step.from] = merged;
            break;
          }
          case 'prune': {
            const before = replicas[step.at]!;
            replicas[step.at] = pruneVersions(stampTimes(before, now), now, options);
            if (actorsOf(replicas[step.at]!.context).length < actorsOf(before.context).length) prunes++;
            assert.deepEqual(replicas[step.at]!.values, before.values, 'pruning never touches a value');
            break;
          }
          case 'tick':
            now += step.ms;
            break;
          case 'other-key':
            floors[step.at]! += step.by;
            break;
        }
        for (const r of replicas) assert.equal(setProblem(r, isString), undefined);
      }
      const all = replicas.reduce((x, y) => sync(x, y));
      const present = new Set(all.values.map((v) => v.value));
      for (const v of written) {
        if (!seen.has(v)) assert.ok(present.has(v), `${v} was never seen by a write, yet it is gone`);
      }
      // Dots stay unique: no value is ever shadowed by another under the same dot.
      assert.equal(new Set(all.values.map((v) => `${v.dot.actor}:${v.dot.counter}`)).size, all.values.length);
      assert.equal(new Set(all.values.map((v) => v.value)).size, all.values.length);
    }),
    { numRuns: 1500 },
  );
  assert.ok(prunes > 1000, `the histories prune often enough to mean something (${prunes})`);
});

test('property: times join like the history (commutative, associative, idempotent)', () => {
  const arbSet = fc.array(fc.tuple(fc.nat(2), fc.boolean(), fc.nat(2), fc.option(fc.nat(1000), { nil: undefined })), { maxLength: 10 }).map((steps) => {
    const actors = ['a', 'b', 'c'];
    const replicas = actors.map(() => emptySet<string>());
    let n = 0;
    for (const [at, blind, other, now] of steps) {
      replicas[at] = update(replicas[at]!, blind ? EMPTY_CONTEXT : replicas[other]!.context, actors[at]!, `v${n++}`, n).set;
      if (now !== undefined) replicas[at] = stampTimes(replicas[at]!, now);
      replicas[other] = sync(replicas[other]!, replicas[at]!);
    }
    return replicas;
  });
  fc.assert(
    fc.property(arbSet, ([x, y, z]) => {
      assert.ok(equalTimes(sync(x!, y!).times, sync(y!, x!).times));
      assert.ok(equalTimes(sync(sync(x!, y!), z!).times, sync(x!, sync(y!, z!)).times));
      assert.ok(equalTimes(sync(x!, x!).times, x!.times));
      const merged = sync(x!, y!);
      assert.equal(setProblem(merged, isString), undefined);
      // Never earlier than either side's time for an actor both know.
      for (const actor of actorsOf(merged.context)) {
        const t = timeOf(merged.times, actor);
        if (t === undefined) continue;
        for (const side of [x!, y!]) {
          const s = timeOf(side.times, actor);
          if (s !== undefined) assert.ok(t >= s);
        }
      }
    }),
    { numRuns: 500 },
  );
});
