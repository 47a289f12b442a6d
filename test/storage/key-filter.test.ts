import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KeyFilter } from '../../src/storage/key-filter.js';
import { toLatin1 } from '../../src/latin1.js';

/**
 * Calls `visit` with the keys `key-0000000` … for i in [from, to): distinct and the same
 * on every run, so no test is flaky. One buffer is rewritten for each key, as the filter keeps
 * no key; a fresh array per key would make key making, not the filter, most of the run time.
 */
function forKeys(from: number, to: number, visit: (key: Uint8Array) => void): void {
  const head = new TextEncoder().encode('key-');
  const key = new Uint8Array(head.length + 7);
  key.set(head);
  for (let i = from; i < to; i++) {
    for (let at = key.length - 1, n = i; at >= head.length; at--, n = Math.floor(n / 10)) key[at] = 0x30 + (n % 10);
    visit(key);
  }
}

test('every added key answers "maybe", in any filter of the series', () => {
  fc.assert(
    fc.property(
      // Up to 300 keys against a first filter of 1 to 16: the series grows several times, past
      // filters of one 512-bit block. `size: 'max'` because fast-check's default keeps arrays
      // to about ten elements, which would never leave the first, one-block filters.
      fc.uniqueArray(fc.uint8Array({ minLength: 0, maxLength: 40 }), { selector: toLatin1, maxLength: 300, size: 'max' }),
      fc.integer({ min: 1, max: 16 }),
      (added, firstCapacity) => {
        const filter = new KeyFilter(firstCapacity);
        for (const k of added) {
          filter.add(k);
          assert.ok(filter.mayContain(k));
        }
        // Checked again at the end: keys added before the series grew must still be found.
        for (const k of added) assert.ok(filter.mayContain(k.slice()), 'found by an equal copy, not by identity');
      },
    ),
  );
});

test('keys added before the series grew are still found after it has', () => {
  const filter = new KeyFilter(8);
  forKeys(0, 500, (k) => filter.add(k));
  // 8 + 16 + 32 + 64 + 128 < 500: at least six filters, whatever few keys were skipped as "maybe".
  assert.ok(filter.filters > 5, `${filter.filters} filters`);
  forKeys(0, 500, (k) => assert.ok(filter.mayContain(k)));
});

test('a new filter answers "not there" for every key', () => {
  const filter = new KeyFilter();
  forKeys(0, 1000, (k) => assert.equal(filter.mayContain(k), false));
});

test('false positives stay under 1 in 500 after the series has grown', () => {
  const filter = new KeyFilter();
  // 131072 + 262144 < 400k: three filters.
  forKeys(0, 400_000, (k) => filter.add(k));
  assert.ok(filter.filters >= 3, `${filter.filters} filters`);
  // Only an upper bound (~1 in 2,500 measured): how many never-added keys say "maybe" is luck.
  let maybes = 0;
  forKeys(400_000, 600_000, (k) => {
    if (filter.mayContain(k)) maybes++;
  });
  const rate = maybes / 200_000;
  assert.ok(rate < 0.002, `false positive rate ${rate}`);
});

test('writing the same keys again does not grow the series', () => {
  const filter = new KeyFilter(16_384);
  // 40k keys leave the second filter (32768 keys) 23616 full, so counting the second pass
  // again would add a third; with 50k the third filter would have room for both passes.
  forKeys(0, 40_000, (k) => filter.add(k));
  const filters = filter.filters;
  const bytes = filter.bytes;
  assert.equal(filters, 2);
  forKeys(0, 40_000, (k) => filter.add(k));
  assert.equal(filter.filters, filters);
  assert.equal(filter.bytes, bytes);
});

test('the filters take under 6.5 bytes per key', () => {
  const filter = new KeyFilter();
  // Just past the second filter's end, where the series has most room to spare.
  const count = 400_000;
  forKeys(0, count, (k) => filter.add(k));
  assert.ok(filter.filters > 1, 'the series grew, so the larger filters are counted');
  assert.ok(filter.bytes / count < 6.5, `${filter.bytes / count} bytes per key`);
});

test('the constructor rejects a first capacity that is not a positive integer', () => {
  for (const firstCapacity of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => new KeyFilter(firstCapacity), RangeError, String(firstCapacity));
  }
});

test('the empty key is a key like any other', () => {
  const filter = new KeyFilter();
  const empty = new Uint8Array(0);
  assert.equal(filter.mayContain(empty), false);
  filter.add(empty);
  assert.equal(filter.mayContain(empty), true);
  assert.equal(filter.mayContain(new Uint8Array(0)), true);
});
