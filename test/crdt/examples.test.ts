// The @example of each CRDT class, run as written (the comments' results asserted), so the
// API docs cannot drift from the code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LWWRegister, ORMap, ORSet, PNCounter } from '../../src/crdt/index.js';

test('ORSet example', () => {
  const a = ORSet.empty<string>().add('a', 'milk').add('a', 'eggs');
  const b = a.remove('milk'); // replica b removes what it saw
  const a2 = a.add('a', 'milk'); // concurrently, a adds milk again
  assert.deepEqual(ORSet.merge(a2, b).value(), ['eggs', 'milk']);
});

test('PNCounter example', () => {
  const a = PNCounter.empty().increment('a', 5);
  const b = PNCounter.empty().decrement('b', 2);
  assert.equal(PNCounter.merge(a, b).value(), 3);
});

test('LWWRegister example', () => {
  const r1 = LWWRegister.empty<string>().assign('a', 'draft', Date.now());
  const r2 = r1.assign('b', 'final', Date.now() - 60_000); // later than r1, whatever b's clock says
  assert.equal(LWWRegister.merge(r1, r2).value(), 'final');
});

test('ORMap example', () => {
  let cart = ORMap.empty()
    .update('a', 'sku-42', PNCounter, (q) => q.increment('a', 2))
    .update('a', 'note', LWWRegister, (r) => r.assign('a', 'gift wrap', Date.now()));
  const other = cart.remove('sku-42'); // replica b
  cart = cart.update('a', 'sku-7', PNCounter, (q) => q.increment('a')); // concurrently
  assert.equal(ORMap.merge(cart, other).get('sku-7', PNCounter)?.value(), 1);
  assert.equal(ORMap.merge(cart, other).has('sku-42'), false);
});
