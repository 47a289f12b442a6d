import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ShardedMap } from '../../src/storage/sharded-map.js';

test('ShardedMap behaves as a Map for any sequence of sets and deletes', () => {
  const op = fc.record({ set: fc.boolean(), key: fc.string({ maxLength: 6 }), value: fc.nat() });
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
      const model = new Map<string, number>();
      const map = new ShardedMap<number>();
      for (const o of ops) {
        if (o.set) {
          model.set(o.key, o.value);
          map.set(o.key, o.value);
        } else {
          assert.equal(map.delete(o.key), model.delete(o.key));
        }
        assert.equal(map.size, model.size);
        assert.equal(map.get(o.key), model.get(o.key));
        assert.equal(map.has(o.key), model.has(o.key));
      }
      assert.deepEqual(map.keys().sort(), [...model.keys()].sort());
    }),
  );
});

test('ShardedMap holds many keys that share a prefix', () => {
  // Spaces other than the data space have no hash in front of their keys.
  const map = new ShardedMap<number>();
  for (let i = 0; i < 100_000; i++) map.set(`cart:user-${i}`, i);
  assert.equal(map.size, 100_000);
  assert.equal(map.keys().length, 100_000);
  assert.equal(map.get('cart:user-99999'), 99_999);
});
