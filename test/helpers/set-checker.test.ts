import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkSet } from './set-checker.js';

test('the Jepsen set checker example: lost {1}, unexpected {30}, recovered {10, 20}', () => {
  // ok adds {0,1}; info (indeterminate) adds {10,11}; failed adds {20,21}; final read {0,10,20,30}.
  const attempts = [0, 1, 10, 11, 20, 21];
  const result = checkSet(attempts, [0, 1], [0, 10, 20, 30]);
  assert.equal(result.valid, false);
  assert.deepEqual(result.lost, [1]);
  assert.deepEqual(result.unexpected, [30]);
  assert.deepEqual(result.recovered.sort((a, b) => a - b), [10, 20]);
});

test('a final read holding every acknowledged add is valid', () => {
  const result = checkSet([1, 2, 3], [1, 2], [1, 2, 3]);
  assert.equal(result.valid, true);
  assert.deepEqual(result.recovered, [3]);
});
