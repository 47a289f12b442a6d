import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LWWRegister, MAX_MAP_DEPTH, ORMap, ORSet, PNCounter, decodeCrdt, encodeCrdt, type CrdtType } from '../../src/crdt/index.js';
import { FRESH, RUNS, assertRefused, checkLaws, elements, histories, triples } from './helpers.js';

const key = fc.constantFrom('k', 'q');
const amount = fc.integer({ min: 0, max: 4 });
const types: CrdtType[] = [PNCounter, ORSet, LWWRegister, ORMap];
const type = fc.constantFrom(...types);

/** An update of a field of each type, as a function of the actor. */
const fieldUpdate = fc.oneof(
  amount.map((n) => ({ type: PNCounter, fn: (actor: string) => (c: PNCounter) => c.increment(actor, n) })),
  amount.map((n) => ({ type: PNCounter, fn: (actor: string) => (c: PNCounter) => c.decrement(actor, n) })),
  elements.map((x) => ({ type: ORSet, fn: (actor: string) => (s: ORSet<unknown>) => s.add(actor, x) })),
  elements.map((x) => ({ type: ORSet, fn: () => (s: ORSet<unknown>) => s.remove(x) })),
  fc
    .record({ x: elements, now: fc.integer({ min: 0, max: 5 }) })
    .map(({ x, now }) => ({ type: LWWRegister, fn: (actor: string) => (r: LWWRegister<unknown>) => r.assign(actor, x, now) })),
  fc.record({ k: key, n: amount }).map(({ k, n }) => ({
    type: ORMap,
    fn: (actor: string) => (m: ORMap) => m.update(actor, k, PNCounter, (c) => c.increment(actor, n)),
  })),
  fc.record({ k: key, x: elements }).map(({ k, x }) => ({
    type: ORMap,
    fn: (actor: string) => (m: ORMap) => m.update(actor, k, ORSet, (s) => s.add(actor, x)),
  })),
  key.map((k) => ({ type: ORMap, fn: () => (m: ORMap) => m.remove(k) })),
);

function apply(m: ORMap, actor: string, k: string, u: { type: CrdtType; fn: (actor: string) => (c: never) => unknown }): ORMap {
  return m.update(actor, k, u.type, u.fn(actor) as never);
}

const ops = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: key, u: fieldUpdate }).map(({ k, u }) => ({ apply: (m: ORMap, actor: string) => apply(m, actor, k, u), label: 'update' })) },
  fc.record({ k: key, t: type }).map(({ k, t }) => ({ apply: (m: ORMap) => m.remove(k, t), label: 'remove' })),
  key.map((k) => ({ apply: (m: ORMap) => m.remove(k), label: 'remove all' })),
);
const history = histories(ORMap.empty(), ops);
const snapshot = history.chain((h) => fc.constantFrom(...h.snapshots.map((s) => s.state)));

test('a cart: sku → quantity, with a concurrent remove and update', () => {
  const a = ORMap.empty()
    .update('a', 'sku-1', PNCounter, (q) => q.increment('a', 2))
    .update('a', 'sku-2', PNCounter, (q) => q.increment('a'));
  const b = a.remove('sku-1').update('b', 'sku-2', PNCounter, (q) => q.decrement('b'));
  const a2 = a.update('a', 'sku-3', PNCounter, (q) => q.increment('a', 5));
  const m = ORMap.merge(a2, b);
  assert.deepEqual(m.value(), [
    { key: 'sku-2', type: 'pncounter', value: 0 },
    { key: 'sku-3', type: 'pncounter', value: 5 },
  ]);
  assert.ok(m.equals(ORMap.merge(b, a2)));
  assert.equal(m.get('sku-1', PNCounter), undefined);
  assert.deepEqual(m.keys(), ['sku-2', 'sku-3']);
});

test('riak_dt map: a removed set field concurrently added to keeps only the concurrent add', () => {
  const s = ORMap.empty().update('a', 'tags', ORSet, (t) => t.add('a', 'x').add('a', 'y').add('a', 'z'));
  const removed = s.remove('tags', ORSet);
  const updated = s.update('b', 'tags', ORSet, (t) => t.add('b', 'new'));
  for (const m of [ORMap.merge(removed, updated), ORMap.merge(updated, removed)]) {
    assert.deepEqual(m.get('tags', ORSet)?.value(), ['new']);
  }
  // Without the concurrent update the field is gone.
  assert.equal(ORMap.merge(removed, s).size, 0);
});

test('riak_dt map: a removed map field keeps only the concurrently updated sub-fields', () => {
  const s = ORMap.empty().update('a', 'profile', ORMap, (p) =>
    p.update('a', 'name', LWWRegister, (r) => r.assign('a', 'Ann', 1)).update('a', 'visits', PNCounter, (c) => c.increment('a', 3)),
  );
  const removed = s.remove('profile');
  const updated = s.update('b', 'profile', ORMap, (p) => p.update('b', 'email', LWWRegister, (r) => r.assign('b', 'ann@x', 2)));
  const m = ORMap.merge(removed, updated);
  assert.deepEqual(m.value(), [{ key: 'profile', type: 'ormap', value: [{ key: 'email', type: 'lwwregister', value: 'ann@x' }] }]);
});

test('riak_dt map: a register field removed while reassigned holds the new value', () => {
  const s = ORMap.empty().update('a', 'r', LWWRegister, (r) => r.assign('a', 'old', 10));
  const m = ORMap.merge(s.remove('r'), s.update('b', 'r', LWWRegister, (r) => r.assign('b', 'new', 1)));
  assert.equal(m.get('r', LWWRegister)?.value(), 'new');
  // Concurrent assignments both stay live; the later one is the value.
  const x = s.update('a', 'r', LWWRegister, (r) => r.assign('a', 'x', 50));
  const y = s.update('b', 'r', LWWRegister, (r) => r.assign('b', 'y', 40));
  assert.equal(ORMap.merge(x, y).get('r', LWWRegister)?.value(), 'x');
  assert.equal(ORMap.merge(y, x).get('r', LWWRegister)?.value(), 'x');
});

test('riak_dt map: the embedded-counter limit: a concurrent updater keeps its whole total', () => {
  const s = ORMap.empty()
    .update('a', 'n', PNCounter, (c) => c.increment('a', 5))
    .merge(ORMap.empty().update('b', 'n', PNCounter, (c) => c.increment('b', 7)));
  const removed = s.remove('n');
  // A fresh actor's increment survives alone: the reset is exact.
  assert.equal(ORMap.merge(removed, s.update('c', 'n', PNCounter, (c) => c.increment('c', 1))).get('n', PNCounter)?.value(), 1);
  // a had 5 before the remove; its entry carries its running total, so all 6 survive.
  assert.equal(ORMap.merge(removed, s.update('a', 'n', PNCounter, (c) => c.increment('a', 1))).get('n', PNCounter)?.value(), 6);
});

test('fields are named by key and type; update creates a field even if it changes nothing', () => {
  let m = ORMap.empty().update('a', 'x', PNCounter, (c) => c).update('a', 'x', ORSet, (s) => s);
  assert.deepEqual(m.value(), [
    { key: 'x', type: 'orset', value: [] },
    { key: 'x', type: 'pncounter', value: 0 },
  ]);
  assert.ok(m.has('x') && m.has('x', ORSet) && !m.has('x', ORMap));
  m = m.update('a', 'x', ORSet, (s) => s.add('a', 1).remove(1));
  assert.ok(m.has('x', ORSet), 'a set field emptied by an update is still present');
  assert.equal(m.remove('x', ORSet).size, 1);
  assert.equal(m.remove('x').size, 0);
  assert.equal(m.remove('nope'), m);
  assert.equal(ORMap.empty().get('x', PNCounter), undefined);
});

test('refuses bad arguments and update functions that return something else', () => {
  const m = ORMap.empty().update('a', 's', ORSet, (s) => s.add('a', 'x'));
  assertRefused(() => m.update('', 'k', PNCounter, (c) => c), /actor/);
  assertRefused(() => m.update('a', 7 as unknown as string, PNCounter, (c) => c), /name/);
  assertRefused(() => m.update('a', '\ud800', PNCounter, (c) => c), /lone surrogate/);
  assertRefused(() => m.update('a', 'k', Map as unknown as CrdtType, (c) => c), /type/);
  assertRefused(() => m.update('a', 'k', PNCounter, (() => 5) as never), /must return a PNCounter/);
  assertRefused(() => m.update('a', 'k', PNCounter, undefined as never), /function/);
  // A set from outside the map lacks the map's history: its dots could name other things.
  assertRefused(() => m.update('a', 's', ORSet, () => ORSet.empty<unknown>().add('a', 'y')), /history/);
  // Nor may it take another field's elements: their dots would then name two things.
  const two = m.update('a', 't', ORSet, (t) => t.add('a', 'z'));
  assertRefused(() => two.update('a', 's', ORSet, () => ORSet.empty<unknown>().merge(two.get('t', ORSet)!)), /dots from elsewhere/);
  assertRefused(() => two.update('a', 'u', ORMap, () => ORMap.empty().merge(two)), /dots from elsewhere|history/);
  // Its own state, merged with itself or a delta of itself, is fine.
  two.update('a', 's', ORSet, (s) => s.merge(s.addDelta('a', 'w')).merge(s));
  assertRefused(() => m.merge(PNCounter.empty() as never), /ORMap/);
});

test(`maps nest at most ${MAX_MAP_DEPTH} levels`, () => {
  const nest = (levels: number): ((m: ORMap) => ORMap) =>
    levels === 0 ? (m) => m.update('a', 'n', PNCounter, (c) => c.increment('a')) : (m) => m.update('a', 'm', ORMap, nest(levels - 1));
  const deepest = nest(MAX_MAP_DEPTH - 1)(ORMap.empty());
  assert.equal(deepest.size, 1);
  // The deepest map may hold a set, whose dot lists are the most deeply nested CBOR there is.
  const withSet = (levels: number): ((m: ORMap) => ORMap) =>
    levels === 0 ? (m) => m.update('a', 's', ORSet, (s) => s.add('a', [[1]])) : (m) => m.update('a', 'm', ORMap, withSet(levels - 1));
  const dense = withSet(MAX_MAP_DEPTH - 1)(ORMap.empty());
  assert.ok(decodeCrdt(encodeCrdt(dense), ORMap).equals(dense));
  assertRefused(() => nest(MAX_MAP_DEPTH)(ORMap.empty()), /nest/);
});

test('merge is commutative, associative, idempotent and never loses state', () => {
  fc.assert(fc.property(triples(history), checkLaws), RUNS);
});

test('an update concurrent with a remove keeps the field, with only the update in it', () => {
  fc.assert(
    fc.property(snapshot, key, fieldUpdate, (s, k, u) => {
      const removed = s.remove(k, u.type);
      const updated = apply(s, FRESH, k, u);
      const m = ORMap.merge(removed, updated);
      const t: CrdtType = u.type;
      assert.ok(m.has(k, t));
      // The reset: the field is what the update alone makes of an empty field.
      const alone = apply(ORMap.empty(), FRESH, k, u).get(k, t)!;
      assert.deepEqual(m.get(k, t)!.value(), alone.value());
    }),
    RUNS,
  );
});

test('a remove that saw every update of a field removes it for good', () => {
  fc.assert(
    fc.property(
      history.chain((h) => fc.tuple(fc.constantFrom(...h.snapshots), fc.constantFrom(...h.snapshots))),
      key,
      ([a, b], k) => {
        const seen = a.state.merge(b.state); // has seen everything b has
        assert.ok(!ORMap.merge(seen.remove(k), b.state).has(k));
        assert.ok(!ORMap.merge(b.state, seen.remove(k)).has(k));
      },
    ),
    RUNS,
  );
});
