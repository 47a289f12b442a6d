import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PNCounter } from '../../src/crdt/index.js';
import { RUNS, assertRefused, checkLaws, histories, triples } from './helpers.js';

/** A counter from riak-style entries `[actor, P, N]`. */
function counter(entries: [string, number, number][]): PNCounter {
  return entries.reduce((c, [actor, p, n]) => c.increment(actor, p).decrement(actor, n), PNCounter.empty());
}

const amount = fc.integer({ min: 0, max: 5 });
const ops = fc.oneof(
  amount.map((k) => ({ apply: (c: PNCounter, actor: string) => c.increment(actor, k), label: `+${k}` })),
  amount.map((k) => ({ apply: (c: PNCounter, actor: string) => c.decrement(actor, k), label: `-${k}` })),
);
const history = histories(PNCounter.empty(), ops);

test('riak_dt: PN entries merge by per-actor maxima of P and N', () => {
  const a = counter([['5', 5, 0], ['7', 0, 4]]);
  const b = counter([['5', 0, 2], ['6', 6, 0], ['7', 7, 0]]);
  const m = PNCounter.merge(a, b);
  assert.deepEqual(m.entries(), [
    { actor: '5', p: 5, n: 2 },
    { actor: '6', p: 6, n: 0 },
    { actor: '7', p: 7, n: 4 },
  ]);
  assert.equal(m.value(), 12);
  assert.ok(m.equals(PNCounter.merge(b, a)));
});

test('riak_dt: inc 50 (a1), inc 50 (a2), dec 15 (a3), dec 10 (a4) is 75', () => {
  const replicas = [
    PNCounter.empty().increment('a1', 50),
    PNCounter.empty().increment('a2', 50),
    PNCounter.empty().decrement('a3', 15),
    PNCounter.empty().decrement('a4', 10),
  ];
  assert.equal(replicas.reduce((x, y) => x.merge(y)).value(), 75);
});

test('riak_dt: G-counter {1:2,2:4} ⊔ {1:3,3:5} = {1:3,2:4,3:5}', () => {
  const m = counter([['1', 2, 0], ['2', 4, 0]]).merge(counter([['1', 3, 0], ['3', 5, 0]]));
  assert.deepEqual(
    m.entries().map((e) => [e.actor, e.p]),
    [['1', 3], ['2', 4], ['3', 5]],
  );
  assert.equal(m.value(), 12);
});

test('increment and decrement default to 1, 0 changes nothing, entries are copies', () => {
  const c = PNCounter.empty().increment('a').increment('a').decrement('b');
  assert.equal(c.value(), 1);
  assert.equal(c.increment('a', 0), c);
  const entries = c.entries();
  (entries[0] as { p: number }).p = 100;
  assert.equal(c.value(), 1);
  assert.equal(PNCounter.empty().value(), 0);
  assert.ok(PNCounter.empty().equals(PNCounter.empty().increment('a', 0)));
});

test('refuses bad actors and amounts with a ValidationError', () => {
  const c = PNCounter.empty();
  for (const actor of ['', '\ud800x', 7, undefined]) assertRefused(() => c.increment(actor as string), /actor/);
  for (const amount of [-1, 1.5, NaN, Infinity, '1', 2 ** 53]) assertRefused(() => c.increment('a', amount as number), /amount/);
  assertRefused(() => c.increment('a', Number.MAX_SAFE_INTEGER).increment('a'), /MAX_SAFE_INTEGER/);
});

test('merge is commutative, associative, idempotent and never loses state', () => {
  fc.assert(fc.property(triples(history), checkLaws), RUNS);
});

test('the value is every increment minus every decrement, across replicas', () => {
  fc.assert(
    fc.property(history, (h) => {
      let expected = 0;
      for (const step of h.steps) if (step.kind === 'op') expected += Number(step.label);
      assert.equal(h.finals.reduce((x, y) => x.merge(y)).value(), expected);
    }),
    RUNS,
  );
});
