import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RIAK_PRUNE_DEFAULTS, vv, type PruneOptions } from '../../src/versioning/version-vector.js';
import { EMPTY_CONTEXT, emptySet, setProblem, sync, update, type CausalContext, type DVVSet } from '../../src/versioning/dvvset.js';
import { actorsOf } from '../../src/versioning/actor-times.js';
import { boundCloud, pruneVersions, stampTimes } from '../../src/versioning/clock-pruning.js';

const isString = (x: unknown): x is string => typeof x === 'string';
const dots = (list: [string, number][]) => list.map(([actor, counter]) => ({ actor, counter }));
/** Cloud dots that are neither a stored value's dot nor their actor's newest (what the bound counts). */
const spare = (set: DVVSet<unknown>) =>
  set.context.cloud.filter(
    (d, i, cloud) =>
      cloud[i + 1]?.actor === d.actor && !set.values.some((v) => v.dot.actor === d.actor && v.dot.counter === d.counter),
  ).length;

test('the bug: a member alternating two keys leaves one cloud dot per write, which actor pruning keeps', () => {
  let k1 = emptySet<string>();
  let k2 = emptySet<string>();
  let floor = 0;
  for (let i = 0; i < 5; i++) {
    const w1 = update(k1, k1.context, 'a', `x${i}`, floor);
    k1 = w1.set;
    floor = w1.dot.counter;
    const w2 = update(k2, k2.context, 'a', `y${i}`, floor);
    k2 = w2.set;
    floor = w2.dot.counter;
  }
  assert.deepEqual(k1.context, { vv: vv({ a: 1 }), cloud: dots([['a', 3], ['a', 5], ['a', 7], ['a', 9]]) });
  // Actor pruning never forgets a (it holds the value); the cloud bound (with `big`) cuts
  // the spare dots, oldest first, and keeps the value's own dot (a,9).
  const pruned = pruneVersions(stampTimes(k1, 0), 1e12, { small: 0, big: 2, youngMs: 0, oldMs: 0 });
  assert.deepEqual(pruned.context, { vv: vv({ a: 1 }), cloud: dots([['a', 5], ['a', 7], ['a', 9]]) });
  const bounded = boundCloud(k1, 0);
  assert.deepEqual(bounded.context, { vv: vv({ a: 1 }), cloud: dots([['a', 9]]) });
  assert.deepEqual(bounded.values, k1.values);
  assert.equal(setProblem(bounded, isString), undefined);
});

test('boundCloud drops the oldest spare dots, spreading the cut over the actors with the most', () => {
  const set: DVVSet<string> = {
    context: { vv: vv({ a: 1, b: 1 }), cloud: dots([['a', 3], ['a', 5], ['a', 7], ['a', 9], ['b', 4], ['b', 6], ['c', 2]]) },
    values: [{ dot: { actor: 'a', counter: 3 }, value: 'old-but-current' }, { dot: { actor: 'b', counter: 6 }, value: 'w' }],
    times: [['a', 1], ['b', 2], ['c', 3]],
  };
  // Spare: a5 a7 (a3 is a value, a9 a's newest), b4 (b6 is a value), none of c (c2 is c's newest).
  assert.equal(spare(set), 3);
  assert.equal(boundCloud(set, 3), set, 'three spare dots: nothing to do');
  const cut = boundCloud(set, 1);
  // Two go: a has the most, then a and b tie at one and the lower actor gives.
  assert.deepEqual(cut.context.cloud, dots([['a', 3], ['a', 9], ['b', 4], ['b', 6], ['c', 2]]));
  assert.equal(setProblem(cut, isString), undefined);
  const all = boundCloud(set, 0);
  assert.deepEqual(all.context.cloud, dots([['a', 3], ['a', 9], ['b', 6], ['c', 2]]), 'value dots and newest dots always stay');
  assert.deepEqual(all.times, set.times, 'every actor stays, so do the times');
  assert.deepEqual(actorsOf(all.context), ['a', 'b', 'c']);
  assert.equal(setProblem(all, isString), undefined);
});

// Several keys at several members, each member with a data record and a hint record per key
// (the two storage spaces), dots from one counter per member over all keys and both spaces.
// Writes are coordinated in either space and replicated; data records are handed off (merged
// into another member, then deleted) and recreated; hints are delivered and deleted; records
// are pruned (actors and cloud) at random points. Ground truth: which values some write saw.
type Step =
  | { kind: 'write'; at: number; key: number; hint: boolean; read: number[]; stale: number; blind: boolean; to: number[] }
  | { kind: 'sync'; key: number; at: number; from: number; both: boolean }
  | { kind: 'handoff'; key: number; at: number; to: number }
  | { kind: 'deliver'; key: number; at: number; to: number }
  | { kind: 'prune'; key: number; at: number }
  | { kind: 'tick'; ms: number };

const MEMBERS = 4;
const KEYS = 3;
const member = fc.nat(MEMBERS - 1);
const key = fc.nat(KEYS - 1);
const arbStep: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      at: member,
      key,
      hint: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      read: fc.uniqueArray(member, { minLength: 1, maxLength: 3 }),
      stale: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(6) }),
      blind: fc.oneof({ weight: 7, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      to: fc.uniqueArray(member, { maxLength: 3 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('sync' as const), key, at: member, from: member, both: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('handoff' as const), key, at: member, to: member }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deliver' as const), key, at: member, to: member }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('prune' as const), key, at: member }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.nat(2000) }) },
);
const arbOptions: fc.Arbitrary<PruneOptions> = fc.record({
  small: fc.nat(3),
  big: fc.nat(4),
  youngMs: fc.constantFrom(0, 1000, 3000),
  oldMs: fc.constantFrom(0, 2000, 10_000),
});

test('property: bounding the cloud never loses a value no write has seen, over multi-key histories', () => {
  let cut = 0;
  fc.assert(
    fc.property(fc.array(arbStep, { minLength: 10, maxLength: 80, size: 'max' }), arbOptions, (steps, options) => {
      const actors = Array.from({ length: MEMBERS }, (_, i) => `m${i}`);
      type Rec = DVVSet<string> | undefined;
      const data: Rec[][] = actors.map(() => Array.from({ length: KEYS }, () => undefined));
      const hints: Rec[][] = actors.map(() => Array.from({ length: KEYS }, () => undefined));
      const floors = actors.map(() => 0);
      const reads: { context: CausalContext; seen: string[] }[][] = Array.from({ length: KEYS }, () => []);
      const written: string[][] = Array.from({ length: KEYS }, () => []);
      const seen = new Set<string>();
      let now = 0;
      let next = 0;
      // What ReplicaStore's #prepare does with pruning on.
      const prepare = (set: DVVSet<string>) => {
        const before = spare(set);
        const out = pruneVersions(stampTimes(set, now), now, options);
        assert.deepEqual(out.values, set.values, 'pruning never touches a value');
        assert.ok(spare(out) <= options.big, 'the cloud is bounded');
        if (spare(out) < before && before > options.big) cut++;
        return out;
      };
      const mergeInto = (space: Rec[][], at: number, k: number, incoming: DVVSet<string>) => {
        const stored = space[at]![k];
        space[at]![k] = prepare(stored === undefined ? incoming : sync(stored, incoming));
      };
      for (const step of steps) {
        switch (step.kind) {
          case 'write': {
            const k = step.key;
            const read = step.read.map((i) => data[i]![k] ?? emptySet<string>()).reduce((x, y) => sync(x, y));
            reads[k]!.push({ context: read.context, seen: read.values.map((v) => v.value) });
            const used = step.blind ? { context: EMPTY_CONTEXT, seen: [] } : reads[k]![Math.max(0, reads[k]!.length - 1 - step.stale)]!;
            const value = `k${k}v${next++}`;
            const space = step.hint ? hints : data;
            const result = update(space[step.at]![k] ?? emptySet<string>(), used.context, actors[step.at]!, value, floors[step.at]);
            floors[step.at] = result.dot.counter;
            space[step.at]![k] = prepare(result.set);
            if (!step.hint) for (const j of step.to) if (j !== step.at) mergeInto(data, j, k, space[step.at]![k]!);
            written[k]!.push(value);
            for (const v of used.seen) seen.add(v);
            break;
          }
          case 'sync': {
            const from = data[step.from]![step.key];
            if (from === undefined || step.at === step.from) break;
            mergeInto(data, step.at, step.key, from);
            if (step.both) mergeInto(data, step.from, step.key, data[step.at]![step.key]!);
            break;
          }
          case 'handoff':
          case 'deliver': {
            const space = step.kind === 'handoff' ? data : hints;
            const rec = space[step.at]![step.key];
            if (rec === undefined || (step.kind === 'handoff' && step.at === step.to)) break;
            mergeInto(data, step.to, step.key, rec);
            space[step.at]![step.key] = undefined;
            break;
          }
          case 'prune': {
            const rec = data[step.at]![step.key];
            if (rec !== undefined) data[step.at]![step.key] = prepare(rec);
            break;
          }
          case 'tick':
            now += step.ms;
            break;
        }
      }
      for (let k = 0; k < KEYS; k++) {
        const recs = [...data, ...hints].map((r) => r[k]).filter((r): r is DVVSet<string> => r !== undefined);
        for (const r of recs) assert.equal(setProblem(r, isString), undefined);
        const all = recs.reduce((x, y) => sync(x, y), emptySet<string>());
        const present = new Set(all.values.map((v) => v.value));
        for (const v of written[k]!) if (!seen.has(v)) assert.ok(present.has(v), `${v} was never seen by a write, yet it is gone`);
        assert.equal(new Set(all.values.map((v) => `${v.dot.actor}:${v.dot.counter}`)).size, all.values.length, 'dots stay unique');
      }
    }),
    { numRuns: 1500 },
  );
  assert.ok(cut > 500, `the histories cut the cloud often enough to mean something (${cut})`);
});

test('a hot key written 1000 times through one member, between writes of other keys, stays bounded', () => {
  const options = RIAK_PRUNE_DEFAULTS;
  let hot = emptySet<string>();
  const others = Array.from({ length: 7 }, () => emptySet<string>());
  // A second replica of the hot key, kept in sync, and a third that stops hearing of it
  // half way (a stale copy that comes back at the end).
  let replica = emptySet<string>();
  let stale = emptySet<string>();
  let floor = 0;
  let now = 1_700_000_000_000;
  let maxCloud = 0;
  const prepare = (set: DVVSet<string>) => pruneVersions(stampTimes(set, now), now, options);
  for (let i = 0; i < 1000; i++) {
    const w = update(hot, hot.context, 'a', `cart${i}`, floor);
    floor = w.dot.counter;
    hot = prepare(w.set);
    replica = prepare(sync(replica, hot));
    if (i < 500) stale = prepare(sync(stale, hot));
    for (let j = 0; j <= i % 3; j++) {
      const o = (i + j) % others.length;
      const ow = update(others[o]!, others[o]!.context, 'a', `o${i}.${j}`, floor);
      floor = ow.dot.counter;
      others[o] = prepare(ow.set);
    }
    maxCloud = Math.max(maxCloud, hot.context.cloud.length);
    now += 10;
  }
  const size = hot.context.vv.length + hot.context.cloud.length;
  console.log(`hot key after 1000 writes (dots issued: ${floor}): vv ${hot.context.vv.length} entries, cloud ${hot.context.cloud.length} dots (max ${maxCloud}), actors ${actorsOf(hot.context).length}`);
  assert.ok(maxCloud <= options.big + 1, `cloud bounded by big plus the value's dot (${maxCloud})`);
  assert.ok(size <= options.big + 2);
  assert.deepEqual(hot.values.map((v) => v.value), ['cart999']);
  assert.deepEqual(replica.values.map((v) => v.value), ['cart999']);
  // The price: the stale copy's version, long forgotten, comes back as a false sibling ...
  const healed = prepare(sync(replica, stale));
  assert.deepEqual(healed.values.map((v) => v.value).sort(), ['cart499', 'cart999']);
  // ... and the next write with a context from a read supersedes it again.
  const next = update(healed, healed.context, 'a', 'cart1000', floor);
  assert.deepEqual(next.set.values.map((v) => v.value), ['cart1000']);
});

test('property: the cut settles: idempotent, and re-cutting a copy merged with the cut gives the cut', () => {
  const arbCloud = fc.uniqueArray(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 3, max: 40 })), {
    selector: ([a, c]) => `${a}${c}`,
    maxLength: 30,
  });
  const make = (cloud: [string, number][], values: [string, number][]): DVVSet<string> => ({
    context: { vv: vv({ a: 1, b: 1 }), cloud: dots([...cloud].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] - y[1]))) },
    values: values.map(([actor, counter]) => ({ dot: { actor, counter }, value: `${actor}${counter}` })).sort((x, y) => (x.dot.actor < y.dot.actor ? -1 : x.dot.actor > y.dot.actor ? 1 : y.dot.counter - x.dot.counter)),
  });
  fc.assert(
    fc.property(arbCloud, fc.nat(8), fc.nat(3), (cloud, max, nValues) => {
      const values = cloud.slice(0, nValues);
      const full = make(cloud, values);
      assert.equal(setProblem(full, isString), undefined);
      const cut = boundCloud(full, max);
      assert.equal(setProblem(cut, isString), undefined);
      assert.deepEqual(boundCloud(cut, max), cut, 'idempotent');
      // Any copy between the cut and the full history (a replica that cut less, or not yet)
      // re-cuts to the same thing once merged with the cut.
      for (let drop = 0; drop < cloud.length; drop += 3) {
        const partial = make(
          cloud.filter((d, i) => i % 3 !== drop % 3 || cut.context.cloud.some((k) => k.actor === d[0] && k.counter === d[1])),
          values,
        );
        assert.deepEqual(boundCloud(sync(partial, cut), max).context, cut.context);
      }
    }),
    { numRuns: 1000 },
  );
});
