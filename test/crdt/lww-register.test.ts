import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LWWRegister, compareTimestamps, nextTimestamp, type HlcTimestamp } from '../../src/crdt/index.js';
import { encodeValue, keyOf } from '../../src/crdt/plain-value.js';
import { ACTORS, RUNS, assertRefused, checkLaws, elements, histories, triples } from './helpers.js';

type Reg = LWWRegister<unknown>;
const ts = (ms: number, logical = 0, actor = 'a'): HlcTimestamp => ({ ms, logical, actor });

const ops = fc.oneof(
  fc
    .record({ value: elements, now: fc.integer({ min: 0, max: 6 }) })
    .map(({ value, now }) => ({ apply: (r: Reg, actor: string) => r.assign(actor, value, now), label: 'assign' })),
  fc
    .record({ value: elements, ms: fc.integer({ min: 0, max: 6 }), logical: fc.integer({ min: 0, max: 2 }), actor: fc.constantFrom(...ACTORS) })
    .map(({ value, ms, logical, actor }) => ({ apply: (r: Reg) => r.assignAt(value, ts(ms, logical, actor)), label: 'assignAt' })),
);
const history = histories<Reg>(LWWRegister.empty(), ops);

test('riak_dt: assign(v1, ts 2) then assign(v0, ts 1) keeps v1', () => {
  const r = LWWRegister.empty<string>().assignAt('v1', ts(2)).assignAt('v0', ts(1));
  assert.equal(r.value(), 'v1');
  assert.deepEqual(r.timestamp, ts(2));
});

test('riak_dt: merge((old, 3), (new, 4)) = (new, 4) either way', () => {
  const old = LWWRegister.empty<string>().assignAt('old', ts(3));
  const neu = LWWRegister.empty<string>().assignAt('new', ts(4));
  for (const m of [LWWRegister.merge(old, neu), LWWRegister.merge(neu, old)]) {
    assert.equal(m.value(), 'new');
    assert.deepEqual(m.timestamp, ts(4));
  }
});

test('riak_dt: equal timestamps break the tie deterministically, larger value wins', () => {
  const x = LWWRegister.empty<string>().assignAt('pear', ts(5));
  const y = LWWRegister.empty<string>().assignAt('plum', ts(5));
  assert.equal(LWWRegister.merge(x, y).value(), 'plum');
  assert.equal(LWWRegister.merge(y, x).value(), 'plum');
  // "Larger" is by canonical encoding, whose head holds the length: longer strings win.
  const long = LWWRegister.empty<string>().assignAt('apple', ts(5));
  assert.equal(LWWRegister.merge(y, long).value(), 'apple');
  // The actor decides before the value: it is part of the timestamp.
  const z = LWWRegister.empty<string>().assignAt('pear', ts(5, 0, 'b'));
  assert.equal(LWWRegister.merge(long, z).value(), 'pear');
});

test('the hybrid clock: an assignment always follows what its writer has seen', () => {
  const ahead = LWWRegister.empty<string>().assign('a', 'from a fast clock', 10_000);
  const later = ahead.assign('b', 'from a slow clock', 5_000);
  assert.equal(later.value(), 'from a slow clock');
  assert.deepEqual(later.timestamp, { ms: 10_000, logical: 1, actor: 'b' });
  assert.deepEqual(later.assign('b', 'next', 10_000).timestamp, { ms: 10_000, logical: 2, actor: 'b' });
  assert.deepEqual(later.assign('b', 'next', 20_000).timestamp, { ms: 20_000, logical: 0, actor: 'b' });
  assert.equal(LWWRegister.merge(ahead, later).value(), 'from a slow clock');
});

test('nextTimestamp and compareTimestamps order by ms, logical, actor', () => {
  assert.deepEqual(nextTimestamp(undefined, 7, 'a'), ts(7));
  assert.ok(compareTimestamps(ts(1, 9, 'z'), ts(2, 0, 'a')) < 0);
  assert.ok(compareTimestamps(ts(2, 1, 'a'), ts(2, 0, 'z')) > 0);
  assert.ok(compareTimestamps(ts(2, 1, 'b'), ts(2, 1, 'a')) > 0);
  assert.equal(compareTimestamps(ts(2, 1, 'a'), ts(2, 1, 'a')), 0);
});

test('an empty register holds undefined and is the bottom of the order', () => {
  const empty = LWWRegister.empty<number>();
  const one = empty.assign('a', 1, 0);
  assert.equal(empty.value(), undefined);
  assert.equal(empty.timestamp, undefined);
  assert.ok(one.descends(empty) && !empty.descends(one));
  assert.equal(empty.merge(one), one);
  assert.equal(one.merge(empty), one);
});

test('values are plain data, compared canonically and handed out as copies', () => {
  const r = LWWRegister.empty<{ list: number[] }>().assign('a', { list: [1, 2] }, 0);
  r.value()!.list.push(3);
  assert.deepEqual(r.value(), { list: [1, 2] });
  const x = LWWRegister.empty().assignAt({ a: 1, b: 2 }, ts(1));
  const y = LWWRegister.empty().assignAt({ b: 2, a: 1 }, ts(1));
  assert.ok(x.equals(y));
});

test('refuses bad actors, times, timestamps and values with a ValidationError', () => {
  const r = LWWRegister.empty<unknown>();
  assertRefused(() => r.assign('', 1, 0), /actor/);
  for (const now of [-1, 1.5, NaN, '5']) assertRefused(() => r.assign('a', 1, now as number), /nowMs/);
  for (const bad of [null, { ms: -1, logical: 0, actor: 'a' }, { ms: 0, logical: 0.5, actor: 'a' }, { ms: 0, logical: 0, actor: '' }]) {
    assertRefused(() => r.assignAt(1, bad as unknown as HlcTimestamp));
  }
  for (const value of [undefined, () => 1, new Map(), new Date(0), '\udc00', Symbol('s')]) assertRefused(() => r.assign('a', value, 0));
});

test('merge is commutative, associative, idempotent and never loses state', () => {
  fc.assert(fc.property(triples(history), checkLaws), RUNS);
});

test('after merging everything, the latest write of all wins', () => {
  fc.assert(
    fc.property(history, (h) => {
      const merged = h.finals.reduce((x, y) => x.merge(y));
      // Every write ever made is at or below the final one, and the final one was made.
      for (const s of h.snapshots) assert.ok(merged.descends(s.state));
      const writes = h.snapshots.map((s) => s.state.written).filter((w) => w !== undefined);
      if (writes.length === 0) assert.equal(merged.written, undefined);
      else assert.ok(writes.some((w) => w.key === merged.written!.key && compareTimestamps(w.ts, merged.written!.ts) === 0));
    }),
    RUNS,
  );
});

test('a register compares values by canonical encoding', () => {
  assert.equal(keyOf(encodeValue({ b: 1, a: 2 })), keyOf(encodeValue({ a: 2, b: 1 })));
});
