import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ValidationError } from '../../src/errors.js';
import {
  EMPTY_VV,
  RIAK_PRUNE_DEFAULTS,
  concurrent,
  counterOf,
  descends,
  dominates,
  equalVV,
  increment,
  isVersionVector,
  maximal,
  mergeVV,
  prune,
  vv,
  type TimedEntry,
  type VersionVector,
} from '../../src/versioning/version-vector.js';

// Actors include names that would break an object-keyed implementation.
const actor = fc.constantFrom('a', 'b', 'c', '', '__proto__', 'constructor', 'é', '1', '10');
const arbVV: fc.Arbitrary<VersionVector> = fc
  .uniqueArray(fc.tuple(actor, fc.integer({ min: 1, max: 4 })), { selector: (e) => e[0], maxLength: 6 })
  .map((entries) => entries.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)));

test('every clock descends the empty clock and itself', () => {
  for (const v of [EMPTY_VV, vv({ a: 1 }), vv({ a: 2, b: 1, c: 1 })]) {
    assert.ok(descends(v, EMPTY_VV));
    assert.ok(descends(v, v));
  }
  assert.ok(!descends(EMPTY_VV, vv({ a: 1 })));
});

test('{a:1} and {b:1} are concurrent', () => {
  assert.ok(!descends(vv({ a: 1 }), vv({ b: 1 })));
  assert.ok(!descends(vv({ b: 1 }), vv({ a: 1 })));
  assert.ok(concurrent(vv({ a: 1 }), vv({ b: 1 })));
});

test('descends is entry-wise >=', () => {
  const big = vv({ a: 2, b: 1, c: 1 });
  assert.ok(descends(big, vv({ a: 2 })));
  assert.ok(descends(big, vv({ b: 1 })));
  assert.ok(!descends(vv({ b: 1 }), big));
  assert.ok(!descends(vv({ b: 1 }), vv({ a: 1 })));
});

test('dominates means descends and differs; equal clocks dominate neither way', () => {
  assert.ok(dominates(vv({ a: 2, b: 2 }), vv({ a: 2, b: 1 })));
  assert.ok(!dominates(vv({ a: 2, b: 1 }), vv({ a: 2, b: 2 })));
  assert.ok(!dominates(vv({ a: 2, b: 1 }), vv({ a: 2, b: 1 })));
});

test('before: the earlier clock is dominated, not concurrent', () => {
  const pairs: [Record<string, number>, Record<string, number>][] = [
    [{ 1: 2, 2: 1 }, { 1: 2, 2: 1, 3: 1 }],
    [{ 2: 2 }, { 1: 1, 2: 2, 3: 1 }],
  ];
  for (const [earlier, later] of pairs) {
    assert.ok(dominates(vv(later), vv(earlier)));
    assert.ok(!concurrent(vv(earlier), vv(later)));
  }
});

test('concurrent clocks', () => {
  assert.ok(concurrent(vv({ 1: 2, 2: 1 }), vv({ 1: 2, 3: 1 })));
  assert.ok(concurrent(vv({ 1: 1, 2: 1, 3: 2 }), vv({ 1: 2, 2: 1, 3: 1 })));
});

test('merge is the entry-wise maximum', () => {
  assert.deepEqual(mergeVV(vv({ 1: 3, 2: 1, 3: 1, 5: 1 }), vv({ 1: 1, 2: 2, 4: 1 })), vv({ 1: 3, 2: 2, 3: 1, 4: 1, 5: 1 }));
  assert.deepEqual(
    mergeVV(vv({ 2: 1, 3: 1, 5: 1 }), vv({ 1: 1, 2: 2, 4: 1, 7: 1 })),
    vv({ 1: 1, 2: 2, 3: 1, 4: 1, 5: 1, 7: 1 }),
  );
});

test('counters above 2^16 survive a merge', () => {
  assert.deepEqual(mergeVV(vv({ a: 32768 }), vv({ a: 1, b: 1 })), vv({ a: 32768, b: 1 }));
  assert.deepEqual(mergeVV(vv({ a: 70000 }), vv({ a: 69999 })), vv({ a: 70000 }));
});

test('maximal reconciles a set of versions to the ones nothing dominates', () => {
  const prior = vv({ 1: 1, 2: 1, 3: 1 });
  const current = vv({ 1: 2, 2: 1, 3: 1 });
  const later = vv({ 1: 2, 2: 2, 3: 1 });
  const conc = vv({ 1: 1, 2: 1, 3: 2 });
  for (const order of [
    [current, prior, later],
    [later, current, prior],
    [prior, later, current],
  ]) {
    assert.deepEqual(maximal(order), [later]);
  }
  assert.deepEqual(maximal([current, conc, prior]), [current, conc]);
  assert.deepEqual(maximal([current, vv({ 1: 2, 2: 1, 3: 1 }), conc, conc]), [current, conc], 'duplicates collapse');
  assert.deepEqual(maximal([]), []);
});

test('paper §4.4: D1..D5 through Sx, Sy, Sz', () => {
  const d1 = increment(EMPTY_VV, 'Sx');
  assert.deepEqual(d1, vv({ Sx: 1 }));
  const d2 = increment(d1, 'Sx');
  assert.deepEqual(d2, vv({ Sx: 2 }));
  assert.ok(dominates(d2, d1), 'D2 overwrites D1');
  const d3 = increment(d2, 'Sy');
  const d4 = increment(d2, 'Sz');
  assert.deepEqual(d3, vv({ Sx: 2, Sy: 1 }));
  assert.deepEqual(d4, vv({ Sx: 2, Sz: 1 }));
  assert.ok(concurrent(d3, d4));
  assert.deepEqual(maximal([d1, d2, d3, d4]), [d3, d4], 'a read returns both siblings');
  const readContext = mergeVV(d3, d4);
  assert.deepEqual(readContext, vv({ Sx: 2, Sy: 1, Sz: 1 }));
  const d5 = increment(readContext, 'Sx');
  assert.deepEqual(d5, vv({ Sx: 3, Sy: 1, Sz: 1 }));
  assert.ok(dominates(d5, d3) && dominates(d5, d4));
  assert.deepEqual(maximal([d3, d4, d5]), [d5]);
});

test('counterOf, increment and odd actor names', () => {
  const v: VersionVector = [['__proto__', 2], ['constructor', 1]];
  assert.ok(isVersionVector(v));
  assert.equal(counterOf(v, '__proto__'), 2);
  assert.equal(counterOf(v, 'toString'), 0);
  assert.deepEqual(increment(v, '__proto__'), [['__proto__', 3], ['constructor', 1]]);
  assert.deepEqual(increment(v, 'a'), [['__proto__', 2], ['a', 1], ['constructor', 1]]);
  assert.deepEqual(v, [['__proto__', 2], ['constructor', 1]], 'inputs are not mutated');
});

test('vv() refuses counters that are not safe integers >= 1', () => {
  for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 53]) {
    assert.throws(() => vv({ a: bad }), ValidationError);
  }
  assert.ok(!isVersionVector([['b', 1], ['a', 1]]));
  assert.ok(!isVersionVector([['a', 1], ['a', 2]]));
  assert.ok(!isVersionVector([['a', 0]]));
  assert.ok(!isVersionVector([[1, 1]]));
});

// Pruning: Riak's rule, in milliseconds.
const SEC = 1000;
const NOW = 1_000_000 * SEC;
function timed(spec: [string, number, number][]): TimedEntry[] {
  return spec.map(([a, counter, ageMs]) => ({ actor: a, counter, timestamp: NOW - ageMs }));
}

test('prune leaves a vector of at most `small` entries alone, however old', () => {
  const entries = timed([['1', 1, 32_000 * SEC], ['2', 2, 32_000 * SEC], ['3', 3, 32_000 * SEC]]);
  assert.deepEqual(prune(entries, NOW, { small: 4, big: 4, youngMs: 0, oldMs: 0 }), entries);
});

test('prune leaves entries younger than `young` alone', () => {
  const entries = timed([['1', 1, SEC], ['2', 2, SEC], ['3', 3, SEC]]);
  assert.deepEqual(prune(entries, NOW, { small: 1, big: 1, youngMs: 1000 * SEC, oldMs: 0 }), entries);
});

test('prune cuts a vector down to `big` entries, oldest first', () => {
  const entries = timed([['1', 1, 1003 * SEC], ['2', 2, 1001 * SEC], ['3', 3, 1002 * SEC]]);
  const pruned = prune(entries, NOW, { small: 1, big: 2, youngMs: SEC, oldMs: 100_000 * SEC });
  assert.deepEqual(pruned.map((e) => e.actor), ['2', '3']);
});

test('prune drops entries older than `old` even under `big`', () => {
  const entries = timed([['1', 1, 1000 * SEC], ['2', 2, 100_000 * SEC], ['3', 3, 100_000 * SEC]]);
  const pruned = prune(entries, NOW, { small: 1, big: 2, youngMs: SEC, oldMs: 10_000 * SEC });
  assert.deepEqual(pruned.map((e) => e.actor), ['1']);
});

test('prune breaks timestamp ties by actor, so every replica drops the same entry', () => {
  const entries = timed([['1', 1, 100_000 * SEC], ['2', 2, 100_000 * SEC]]);
  const options = { small: 1, big: 2, youngMs: SEC, oldMs: 10_000 * SEC };
  const forward = prune(entries, NOW, options);
  assert.deepEqual(forward, prune(entries.slice().reverse(), NOW, options));
  assert.deepEqual(forward.map((e) => e.actor), ['2']);
});

test('prune with Riak defaults: 50 entries kept, the 51st oldest goes; young and old rules apply beyond 50', () => {
  const fifty = Array.from({ length: 50 }, (_, i): [string, number, number] => [`n${i}`, 1, 100 * SEC + i]);
  assert.equal(prune(timed(fifty), NOW, RIAK_PRUNE_DEFAULTS).length, 50);
  const fiftyOne = timed([...fifty, ['old', 1, 200 * SEC]]);
  const pruned = prune(fiftyOne, NOW, RIAK_PRUNE_DEFAULTS);
  assert.equal(pruned.length, 50);
  assert.ok(!pruned.some((e) => e.actor === 'old'));
  const youngOnes = timed(Array.from({ length: 60 }, (_, i): [string, number, number] => [`y${i}`, 1, 10 * SEC]));
  assert.equal(prune(youngOnes, NOW, RIAK_PRUNE_DEFAULTS).length, 60, 'nothing younger than 20 s is dropped');
  const ancient = timed([
    ...Array.from({ length: 10 }, (_, i): [string, number, number] => [`x${i}`, 1, 2 * 86_400 * SEC]),
    ...Array.from({ length: 45 }, (_, i): [string, number, number] => [`z${i}`, 1, 100 * SEC]),
  ]);
  const kept = prune(ancient, NOW, RIAK_PRUNE_DEFAULTS);
  assert.equal(kept.length, 50, 'entries older than a day go, but only down to `small`');
  assert.equal(kept.filter((e) => e.actor.startsWith('x')).length, 5);
});

test('prune as the paper describes it: past 10 entries the oldest pair goes', () => {
  const eleven = timed(Array.from({ length: 11 }, (_, i): [string, number, number] => [`s${i}`, i + 1, (20 - i) * SEC]));
  const pruned = prune(eleven, NOW, { small: 10, big: 10, youngMs: 0, oldMs: Number.POSITIVE_INFINITY });
  assert.equal(pruned.length, 10);
  assert.ok(!pruned.some((e) => e.actor === 's0'));
});

test('prune refuses nonsense options', () => {
  assert.throws(() => prune([], NOW, { small: -1, big: 1, youngMs: 0, oldMs: 0 }), ValidationError);
  assert.throws(() => prune([], NOW, { small: 1, big: Number.NaN, youngMs: 0, oldMs: 0 }), ValidationError);
  assert.throws(() => prune([], Number.NaN, RIAK_PRUNE_DEFAULTS), ValidationError);
});

test('property: merge is commutative, associative, idempotent and the least upper bound', () => {
  fc.assert(
    fc.property(arbVV, arbVV, arbVV, (a, b, c) => {
      const ab = mergeVV(a, b);
      assert.deepEqual(ab, mergeVV(b, a));
      assert.deepEqual(mergeVV(ab, c), mergeVV(a, mergeVV(b, c)));
      assert.deepEqual(mergeVV(a, a), a);
      assert.ok(isVersionVector(ab));
      assert.ok(descends(ab, a) && descends(ab, b));
      if (descends(c, a) && descends(c, b)) assert.ok(descends(c, ab));
    }),
  );
});

test('property: descends is a partial order, and the comparisons agree with it', () => {
  fc.assert(
    fc.property(arbVV, arbVV, arbVV, (a, b, c) => {
      assert.ok(descends(a, a));
      if (descends(a, b) && descends(b, a)) assert.ok(equalVV(a, b));
      if (descends(a, b) && descends(b, c)) assert.ok(descends(a, c));
      assert.equal(equalVV(a, b), descends(a, b) && descends(b, a));
      const relations = [dominates(a, b), dominates(b, a), equalVV(a, b), concurrent(a, b)];
      assert.equal(relations.filter(Boolean).length, 1, 'exactly one of <, >, =, || holds');
    }),
  );
});

test('property: increment dominates its input and stays canonical', () => {
  fc.assert(
    fc.property(arbVV, actor, (v, a) => {
      const next = increment(v, a);
      assert.ok(isVersionVector(next));
      assert.ok(dominates(next, v));
      assert.equal(counterOf(next, a), counterOf(v, a) + 1);
    }),
  );
});

test('property: maximal keeps exactly the undominated versions, once each', () => {
  fc.assert(
    fc.property(fc.array(arbVV, { maxLength: 6 }), (list) => {
      const kept = maximal(list);
      for (const v of list) {
        const dominated = list.some((w) => dominates(w, v));
        assert.equal(kept.some((k) => equalVV(k, v)), !dominated);
      }
      for (let i = 0; i < kept.length; i++) {
        for (let j = i + 1; j < kept.length; j++) assert.ok(concurrent(kept[i]!, kept[j]!));
      }
    }),
  );
});
