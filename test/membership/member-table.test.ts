import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MemberTable } from '../../src/membership/member-table.js';
import type { MemberState } from '../../src/protocol/messages.js';

function state(id: string, incarnation: number, heartbeat: number, extra: Partial<MemberState> = {}): MemberState {
  return { id, address: `addr-${id}`, vnodes: 128, status: 'up', incarnation, heartbeat, ...extra };
}

const SELF = state('self', 1, 5);

test('a new member is joined and changes the ring', () => {
  const table = new MemberTable(SELF);
  const change = table.merge([state('b', 1, 0)]);
  assert.deepEqual(change.joined, [state('b', 1, 0)]);
  assert.deepEqual(change.advanced, []);
  assert.equal(change.ringChanged, true);
  assert.equal(table.size, 2);
  assert.deepEqual(table.get('b'), state('b', 1, 0));
});

test('a higher incarnation wins whatever the heartbeat', () => {
  const table = new MemberTable(SELF);
  table.merge([state('b', 1, 1000)]);
  const restarted = state('b', 2, 0);
  const change = table.merge([restarted]);
  assert.deepEqual(change.advanced, [restarted]);
  assert.deepEqual(change.joined, []);
  assert.deepEqual(table.get('b'), restarted);
  // The old incarnation's news, however high its heartbeat, is stale now.
  const stale = table.merge([state('b', 1, 1_000_000)]);
  assert.deepEqual(stale.advanced, []);
  assert.equal(stale.ringChanged, false);
  assert.deepEqual(table.get('b'), restarted);
});

test('in the same incarnation the higher heartbeat wins; equal or lower is ignored', () => {
  const table = new MemberTable(SELF);
  table.merge([state('b', 3, 10)]);
  const newer = table.merge([state('b', 3, 11)]);
  assert.deepEqual(newer.advanced, [state('b', 3, 11)]);
  assert.deepEqual(newer.beats, [1], 'one heartbeat newer');
  assert.equal(newer.ringChanged, false, 'a heartbeat does not move the ring');
  for (const heartbeat of [11, 10, 0]) {
    const change = table.merge([state('b', 3, heartbeat, { address: 'elsewhere' })]);
    assert.deepEqual(change, { joined: [], advanced: [], beats: [], left: [], ringChanged: false }, `heartbeat ${heartbeat}`);
  }
  assert.deepEqual(table.get('b'), state('b', 3, 11));
});

test('a weight change that wins rebuilds the ring; one that loses does not', () => {
  const table = new MemberTable(SELF);
  table.merge([state('b', 1, 1)]);
  assert.equal(table.merge([state('b', 2, 0, { vnodes: 256 })]).ringChanged, true);
  assert.equal(table.merge([state('b', 1, 9, { vnodes: 64 })]).ringChanged, false);
  assert.equal(table.get('b')?.vnodes, 256);
});

test("a member's own entry is never overwritten by peers", () => {
  const table = new MemberTable(SELF);
  const change = table.merge([
    state('self', 99, 99, { address: 'impostor', vnodes: 1, status: 'leaving' }),
    state('self', 0, 0),
  ]);
  assert.deepEqual(change, { joined: [], advanced: [], beats: [], left: [], ringChanged: false });
  assert.deepEqual(table.self, SELF);
  assert.deepEqual(table.get('self'), SELF);
  // It speaks for itself through setSelf, which list() then reflects.
  table.setSelf({ ...SELF, heartbeat: 6 });
  assert.equal(table.self.heartbeat, 6);
  assert.equal(table.list().find((m) => m.id === 'self')?.heartbeat, 6);
});

test('list() is sorted by id (code-unit order) and reflects each merge', () => {
  const table = new MemberTable(state('m', 1, 0));
  table.merge([state('z', 1, 0), state('B', 1, 0), state('a', 1, 0)]);
  assert.deepEqual(table.list().map((m) => m.id), ['B', 'a', 'm', 'z']);
  table.merge([state('a', 1, 4), state('c', 1, 0)]);
  assert.deepEqual(table.list().map((m) => [m.id, m.heartbeat]), [['B', 0], ['a', 4], ['c', 0], ['m', 0], ['z', 0]]);
});

test('the same member twice in one batch: joined once, then advanced', () => {
  const table = new MemberTable(SELF);
  const change = table.merge([state('b', 1, 1), state('b', 1, 3), state('b', 1, 2)]);
  assert.deepEqual(change.joined, [state('b', 1, 1)]);
  assert.deepEqual(change.advanced, [state('b', 1, 3)]);
  assert.deepEqual(table.get('b'), state('b', 1, 3));
});

// A member's state at a given (incarnation, heartbeat) is one fixed value: it alone writes
// it. So the generator derives the other fields from (id, incarnation, heartbeat), as a real
// member would, and varies only which versions arrive and in what order.
const IDS = ['self', 'a', 'b', 'c', 'd', 'e'];
const version = fc
  .record({
    id: fc.constantFrom(...IDS),
    incarnation: fc.integer({ min: 0, max: 3 }),
    heartbeat: fc.integer({ min: 0, max: 6 }),
  })
  .map(({ id, incarnation, heartbeat }) =>
    state(id, incarnation, heartbeat, {
      vnodes: 64 * (1 + ((id.charCodeAt(0) + incarnation) % 4)), // a restart may change the weight
      address: `${id}:${incarnation}`,
    }),
  );

/** `items` reordered by `keys` (one random key per item), split into batches at `cuts`. */
function shuffle<T>(items: readonly T[], keys: readonly number[]): T[] {
  return items
    .map((item, i) => ({ item, key: keys[i] ?? 0, i }))
    .sort((x, y) => x.key - y.key || x.i - y.i)
    .map(({ item }) => item);
}

function batches<T>(items: readonly T[], cuts: readonly number[]): T[][] {
  const at = [...new Set(cuts.map((c) => c % (items.length + 1)))].sort((a, b) => a - b);
  const out: T[][] = [];
  let from = 0;
  for (const cut of [...at, items.length]) {
    out.push(items.slice(from, cut));
    from = cut;
  }
  return out;
}

function expected(self: MemberState, states: readonly MemberState[]): MemberState[] {
  const best = new Map<string, MemberState>([[self.id, self]]);
  for (const s of states) {
    if (s.id === self.id) continue;
    const known = best.get(s.id);
    if (known === undefined || s.incarnation > known.incarnation || (s.incarnation === known.incarnation && s.heartbeat > known.heartbeat)) {
      best.set(s.id, s);
    }
  }
  return [...best.values()].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
}

test('property: merging the same states in any order and batching gives the same table', () => {
  fc.assert(
    fc.property(
      fc.array(version, { maxLength: 40 }),
      fc.array(fc.double({ noNaN: true }), { maxLength: 40 }),
      fc.array(fc.double({ noNaN: true }), { maxLength: 40 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      (states, keysA, keysB, cutsA, cutsB) => {
        const orderA = batches(shuffle(states, keysA), cutsA);
        const orderB = batches(shuffle(states, keysB), cutsB);
        const tableA = new MemberTable(SELF);
        const tableB = new MemberTable(SELF);
        const joinedA: string[] = [];
        for (const batch of orderA) joinedA.push(...tableA.merge(batch).joined.map((m) => m.id));
        for (const batch of orderB) tableB.merge(batch);
        assert.deepEqual(tableA.list(), tableB.list());
        assert.deepEqual(tableA.list(), expected(SELF, states), 'each member at its highest (incarnation, heartbeat)');
        // Every other member is reported joined exactly once, whatever the order.
        const others = new Set(states.map((s) => s.id).filter((id) => id !== SELF.id));
        assert.deepEqual(joinedA.sort(), [...others].sort());
        // Merging it all again changes nothing.
        const again = tableA.merge(states);
        assert.deepEqual(again, { joined: [], advanced: [], beats: [], left: [], ringChanged: false });
      },
    ),
  );
});

test('property: every advance reported is strictly newer than what it replaced', () => {
  fc.assert(
    fc.property(fc.array(fc.array(version, { maxLength: 8 }), { maxLength: 8 }), (rounds) => {
      const table = new MemberTable(SELF);
      for (const batch of rounds) {
        const before = new Map(table.list().map((m) => [m.id, m]));
        const change = table.merge(batch);
        for (const m of change.advanced) {
          const old = before.get(m.id);
          if (old === undefined) continue; // joined earlier in the same batch
          assert.ok(m.incarnation > old.incarnation || (m.incarnation === old.incarnation && m.heartbeat > old.heartbeat));
        }
        for (const m of change.joined) assert.equal(before.has(m.id), false);
        assert.deepEqual(table.self, SELF);
      }
    }),
  );
});
