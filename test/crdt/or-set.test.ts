import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ORSet } from '../../src/crdt/index.js';
import { covers } from '../../src/crdt/dots.js';
import { encodeValue, keyOf } from '../../src/crdt/plain-value.js';
import { FRESH, RUNS, assertRefused, checkLaws, elements, histories, triples } from './helpers.js';

type S = ORSet<unknown>;

const ops = fc.oneof(
  elements.map((x) => ({ apply: (s: S, actor: string) => s.add(actor, x), label: 'add' })),
  elements.map((x) => ({ apply: (s: S) => s.remove(x), label: 'remove' })),
);
const deltas = fc.oneof(
  elements.map((x) => ({ delta: (s: S, actor: string) => s.addDelta(actor, x), label: 'addDelta' })),
  elements.map((x) => ({ delta: (s: S) => s.removeDelta(x), label: 'removeDelta' })),
);
const history = histories<S>(ORSet.empty(), ops, { deltas });
const snapshot = history.chain((h) => fc.constantFrom(...h.snapshots.map((s) => s.state)));

/** The dots `set` holds for `element`. */
function dotsOf(set: S, element: unknown): readonly { actor: string; counter: number }[] {
  const key = keyOf(encodeValue(element));
  return set.store.find((e) => e.key === key)?.dots ?? [];
}

test('riak_dt: add-wins: a re-add concurrent with a remove survives the merge', () => {
  const a = ORSet.empty<string>().add('a', 'x'); // x@(a,1)
  const b = a.remove('x'); // b got a copy of A and removed x
  const a2 = a.add('a', 'x'); // concurrently, x@(a,2)
  assert.deepEqual(ORSet.merge(a2, b).value(), ['x']);
  assert.deepEqual(ORSet.merge(b, a2).value(), ['x']);
  // Without the re-add, the remove wins.
  assert.deepEqual(ORSet.merge(a, b).value(), []);
  assert.deepEqual(ORSet.merge(b, a).value(), []);
});

test('riak_dt: a remove of what was merged in takes out only that', () => {
  const a = ORSet.empty<string>().add('1', 'bar');
  const b = ORSet.empty<string>().add('2', 'baz');
  const c = ORSet.merge(a, b);
  const a2 = a.remove('bar');
  assert.deepEqual(ORSet.merge(a2, c).value(), ['baz']);
  assert.deepEqual(ORSet.merge(c, a2).value(), ['baz']);
});

test('riak_dt: [remove baz, add baz] on {bar, baz} keeps both', () => {
  const s = ORSet.empty<string>().add('a', 'bar').add('a', 'baz');
  assert.deepEqual(s.remove('baz').add('a', 'baz').value(), ['bar', 'baz']);
});

test('removes leave no tombstones: the state is the context and the live dots', () => {
  let s = ORSet.empty<number>();
  for (let i = 0; i < 100; i++) s = s.add('a', i).remove(i);
  assert.equal(s.size, 0);
  assert.deepEqual(s.store, []);
  assert.deepEqual(s.ctx, { vv: [['a', 100]], cloud: [] });
});

test('elements are plain values compared by canonical encoding', () => {
  const s = ORSet.empty<unknown>().add('a', { a: 1, b: [2, 3] }).add('a', { b: [2, 3], a: 1 }).add('a', -0).add('a', 0);
  assert.equal(s.size, 2);
  assert.ok(s.has({ b: [2, 3], a: 1 }));
  assert.ok(s.has(0) && !s.has(0n) && !s.has('0'));
  const v = s.value() as { a: number; b: number[] }[];
  v[1]!.b.push(4);
  assert.deepEqual(s.value(), [0, { a: 1, b: [2, 3] }]);
  assertRefused(() => s.add('a', undefined), /plain data/);
  assertRefused(() => s.add('a', new Map()), /plain/);
  assertRefused(() => s.has(() => 1), /plain data/);
  assertRefused(() => s.add('', 'x'), /actor/);
});

test('remove of an absent element is the same set; deltas equal the operations', () => {
  const s = ORSet.empty<string>().add('a', 'x').add('b', 'y').add('a', 'x');
  assert.equal(s.remove('zz'), s);
  assert.ok(s.merge(s.addDelta('c', 'x')).equals(s.add('c', 'x')));
  assert.ok(s.merge(s.addDelta('c', 'new')).equals(s.add('c', 'new')));
  assert.ok(s.merge(s.removeDelta('x')).equals(s.remove('x')));
  assert.ok(s.merge(s.removeDelta('zz')).equals(s));
  assert.deepEqual(s.addDelta('c', 'x').value(), ['x']);
  assert.equal(s.removeDelta('x').size, 0);
});

test('merge is commutative, associative, idempotent and never loses state', () => {
  fc.assert(fc.property(triples(history), checkLaws), RUNS);
});

test('a delta applied to its own state is the operation', () => {
  fc.assert(
    fc.property(snapshot, elements, (s, x) => {
      assert.ok(s.merge(s.addDelta(FRESH, x)).equals(s.add(FRESH, x)));
      assert.ok(s.merge(s.removeDelta(x)).equals(s.remove(x)));
    }),
    RUNS,
  );
});

test('add wins over a concurrent remove', () => {
  fc.assert(
    fc.property(snapshot, elements, (s, x) => {
      const removed = s.remove(x);
      const added = s.add(FRESH, x);
      assert.ok(ORSet.merge(removed, added).has(x));
      assert.ok(ORSet.merge(added, removed).has(x));
    }),
    RUNS,
  );
});

test('a remove removes exactly the adds it observed', () => {
  fc.assert(
    fc.property(
      history.chain((h) => fc.tuple(fc.constantFrom(...h.snapshots), fc.constantFrom(...h.snapshots))),
      elements,
      ([a, b], x) => {
        const merged = ORSet.merge(a.state.remove(x), b.state);
        const unseen = dotsOf(b.state, x).filter((d) => !covers(a.state.ctx, d));
        assert.equal(merged.has(x), unseen.length > 0);
        assert.deepEqual(dotsOf(merged, x), unseen);
        // What the remover had seen of every other element is untouched.
        for (const y of ORSet.merge(a.state, b.state).value()) {
          if (keyOf(encodeValue(y)) !== keyOf(encodeValue(x))) assert.ok(merged.has(y));
        }
        if (a.state.descends(b.state)) assert.ok(!merged.has(x));
      },
    ),
    RUNS,
  );
});
