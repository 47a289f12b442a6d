import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LargeValues, MAX_POOLED_VALUE, ValuePool } from '../../src/storage/value-pool.js';

const alloc = (n: number) => new Uint8Array(n);

test('the pool gives back what was stored under every ref, through stores, replaces and frees', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('store' as const), value: fc.uint8Array({ maxLength: 300 }) }),
    fc.record({ kind: fc.constant('replace' as const), pick: fc.nat(), value: fc.uint8Array({ maxLength: 300 }) }),
    fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
      const pool = new ValuePool();
      const live = new Map<number, Uint8Array>();
      for (const o of ops) {
        const refs = [...live.keys()];
        if (o.kind === 'store') {
          const ref = pool.store(o.value)!;
          assert.ok(!live.has(ref), 'a live ref is never handed out again');
          live.set(ref, o.value);
        } else if (refs.length > 0) {
          const ref = refs[o.pick % refs.length]!;
          live.delete(ref);
          if (o.kind === 'replace') {
            const next = pool.replace(ref, o.value)!;
            assert.ok(!live.has(next));
            live.set(next, o.value);
          } else {
            pool.free(ref);
          }
        }
        for (const [ref, value] of live) {
          assert.deepEqual([...pool.read(ref, alloc)], [...value]);
          assert.deepEqual([...pool.view(ref)], [...value]);
          assert.ok(pool.equals(ref, value));
        }
      }
    }),
  );
});

test('refs are small integers, freed chunks are reused, and values too large are declined', () => {
  const pool = new ValuePool();
  const refs = Array.from({ length: 20_000 }, (_, i) => pool.store(new Uint8Array(100).fill(i & 0xff))!);
  for (const ref of refs) assert.ok(Number.isInteger(ref) && ref >= 0 && ref < 2 ** 30);
  pool.free(refs[5]!);
  assert.equal(pool.store(new Uint8Array(99)), refs[5], 'a value of the same size class takes the freed chunk');
  assert.equal(pool.replace(refs[6]!, new Uint8Array(101).fill(1)), refs[6], 'replaced in place within its class');
  assert.equal(pool.store(new Uint8Array(MAX_POOLED_VALUE + 1)), undefined);
  const largest = pool.store(new Uint8Array(MAX_POOLED_VALUE).fill(9))!;
  assert.equal(pool.read(largest, alloc).length, MAX_POOLED_VALUE);
  assert.deepEqual([...pool.read(pool.store(new Uint8Array(0))!, alloc)], []);
});

test('the pool compares a stored value in place: equal only to the same length and bytes', () => {
  const pool = new ValuePool();
  const value = Uint8Array.from([1, 2, 3, 4, 5]);
  const ref = pool.store(value)!;
  pool.store(Uint8Array.from([1, 2, 3, 4, 6]));
  assert.ok(pool.equals(ref, Uint8Array.from([1, 2, 3, 4, 5])));
  assert.ok(pool.equals(ref, Uint8Array.from([0, 1, 2, 3, 4, 5, 0]).subarray(1, 6)), 'a view at an offset');
  assert.ok(!pool.equals(ref, Uint8Array.from([1, 2, 3, 4, 6])), 'one byte differs');
  assert.ok(!pool.equals(ref, Uint8Array.from([1, 2, 3, 4])), 'a prefix');
  assert.ok(!pool.equals(ref, Uint8Array.from([1, 2, 3, 4, 5, 0])), 'longer, same size class');
  assert.ok(!pool.equals(ref, new Uint8Array(40)), 'another size class');
  assert.ok(!pool.equals(ref, new Uint8Array(MAX_POOLED_VALUE + 1)));
  const empty = pool.store(new Uint8Array(0))!;
  assert.ok(pool.equals(empty, new Uint8Array(0)));
  assert.ok(!pool.equals(empty, new Uint8Array(1)));
  assert.equal(pool.view(empty).length, 0);
});

test('LargeValues keeps what the pool declines, and reuses freed indexes', () => {
  const large = new LargeValues();
  const a = new Uint8Array(MAX_POOLED_VALUE + 1).map((_, i) => i & 0xff);
  const b = new Uint8Array(70_000).fill(0xff);
  const ia = large.add(a);
  const ib = large.add(b);
  assert.notEqual(ia, ib);
  assert.deepEqual(large.read(ia), a);
  assert.equal(large.text(ib).length, 70_000);
  assert.ok(large.equals(ia, a.slice()));
  assert.ok(!large.equals(ia, a.subarray(1)));
  const c = a.slice();
  c[100] = 0;
  assert.ok(!large.equals(ia, c));
  large.free(ia);
  assert.equal(large.add(c), ia, 'a freed index is handed out again');
  assert.deepEqual(large.read(ia), c);
  assert.deepEqual(large.read(ib), b);
});
