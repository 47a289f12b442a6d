import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Histogram } from '../../src/metrics/histogram.js';

test('percentiles of 1..100000 are within the 1/16 bucket precision', () => {
  const h = new Histogram();
  for (let i = 1; i <= 100_000; i++) h.record(i);
  for (const p of [50, 90, 99, 99.9]) {
    const exact = Math.ceil((p / 100) * 100_000);
    const got = h.percentile(p);
    assert.ok(got >= exact && got <= exact * (1 + 1 / 16), `p${p}: ${got} vs ${exact}`);
  }
  assert.equal(h.percentile(100), 100_000);
  assert.equal(h.count, 100_000);
});

test('a percentile never understates and stays within 6.25% of the true value', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 2 ** 36 }), { minLength: 1, maxLength: 200 }), fc.double({ min: 0.1, max: 100, noNaN: true }), (values, p) => {
      const h = new Histogram();
      for (const v of values) h.record(v);
      const sorted = [...values].sort((a, b) => a - b);
      const exact = sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
      const got = h.percentile(p);
      return got >= exact && got <= Math.max(exact * (1 + 1 / 16), exact + 1);
    }),
  );
});

test('an empty histogram answers zeros', () => {
  const h = new Histogram();
  assert.equal(h.percentile(99), 0);
  assert.equal(h.mean, 0);
});
