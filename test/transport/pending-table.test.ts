import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PendingTable } from '../../src/transport/pending-table.js';

test('PendingTable behaves as a Map for sequential ids answered in any order', () => {
  // Each step sends the next request, or answers (or times out) one pending, or a made-up id.
  const step = fc.oneof(fc.constant({ kind: 'send' as const }), fc.record({ kind: fc.constant('answer' as const), pick: fc.nat() }), fc.record({ kind: fc.constant('stray' as const), id: fc.nat(1 << 20) }));
  fc.assert(
    fc.property(fc.array(step, { maxLength: 600 }), fc.nat(1 << 30), (steps, start) => {
      const model = new Map<number, string>();
      const table = new PendingTable<string>();
      let next = start;
      for (const s of steps) {
        if (s.kind === 'send') {
          const id = next++;
          model.set(id, `r${id}`);
          table.set(id, `r${id}`);
        } else if (s.kind === 'answer' && model.size > 0) {
          const ids = [...model.keys()];
          const id = ids[s.pick % ids.length]!;
          assert.equal(table.delete(id), model.delete(id));
        } else if (s.kind === 'stray') {
          assert.equal(table.get(s.id), model.get(s.id));
          assert.equal(table.delete(s.id), model.delete(s.id));
        }
        assert.equal(table.size, model.size);
      }
      for (const [id, value] of model) assert.equal(table.get(id), value);
      assert.deepEqual(table.values().sort(), [...model.values()].sort());
      table.clear();
      assert.equal(table.size, 0);
      assert.deepEqual(table.values(), []);
    }),
  );
});

test('a request pending while thousands of later ones come and go keeps its slot', () => {
  const table = new PendingTable<number>();
  table.set(0, -1);
  for (let id = 1; id < 10_000; id++) {
    table.set(id, id);
    table.delete(id);
  }
  assert.equal(table.get(0), -1);
  assert.equal(table.size, 1);
});
