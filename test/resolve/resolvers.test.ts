import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { lastWriteWins, union, type SiblingInfo } from '../../src/resolve/resolvers.js';
import { ValidationError } from '../../src/errors.js';

const info = (...stamps: [number, string][]): SiblingInfo[] => stamps.map(([writtenAt, actor]) => ({ writtenAt, actor }));

test('lastWriteWins takes the greatest timestamp, ties broken by actor', () => {
  assert.equal(lastWriteWins(['a', 'b', 'c'], info([5, 'x'], [9, 'x'], [7, 'z'])), 'b');
  assert.equal(lastWriteWins(['a', 'b'], info([9, 'y'], [9, 'x'])), 'a');
});

test('lastWriteWins and union do not depend on the order of the siblings', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.record({ v: fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 5 }), t: fc.nat(), a: fc.constantFrom('p', 'q', 'r') }), {
        minLength: 1,
        maxLength: 6,
        selector: (x) => `${x.t}/${x.a}`,
      }),
      fc.nat(),
      (sibs, seed) => {
        const shuffled = [...sibs].sort((x, y) => ((x.t * 31 + seed) % 7) - ((y.t * 31 + seed) % 7));
        const run = (list: typeof sibs) => [
          lastWriteWins(list.map((s) => s.v), list.map((s) => ({ writtenAt: s.t, actor: s.a }))),
          union(list.map((s) => s.v), list.map((s) => ({ writtenAt: s.t, actor: s.a }))),
        ];
        assert.deepEqual(run(shuffled), run(sibs));
      },
    ),
  );
});

test('union keeps every element of every sibling once, for arrays of objects and for Sets', () => {
  const merged = union([[{ sku: 'a' }, { sku: 'b' }], [{ sku: 'b' }, { sku: 'c' }]], info([1, 'x'], [2, 'y']));
  assert.equal(merged.length, 3);
  assert.deepEqual(new Set(merged.map((e) => e.sku)), new Set(['a', 'b', 'c']));
  const sets = union([new Set([1, 2]), new Set([2, 3])], info([1, 'x'], [2, 'y']));
  assert.deepEqual(sets, new Set([1, 2, 3]));
});

test('union refuses what is not arrays or Sets, and both refuse mismatched info', () => {
  assert.throws(() => union([{ a: 1 }, { b: 2 }], info([1, 'x'], [2, 'y'])), ValidationError);
  assert.throws(() => union([[1], new Set([2])], info([1, 'x'], [2, 'y'])), ValidationError);
  assert.throws(() => lastWriteWins([1, 2], info([1, 'x'])), ValidationError);
  assert.throws(() => lastWriteWins([], []), ValidationError);
});
