import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Encoder } from 'cbor-x';
import { MemoryStorage } from '../../src/storage/memory.js';
import { ManualClock, systemClock } from '../../src/time/clock.js';
import { wallTime } from '../../src/time/clock.js';
import { DotCounter } from '../../src/replica/identity.js';
import { DATA_SPACE, ReplicaStore, type StoredValue, type Versions } from '../../src/replica/replica-store.js';
import { decodeVersions } from '../../src/codec/versions.js';
import { EMPTY_CONTEXT, emptySet, setProblem, sync, type CausalContext } from '../../src/versioning/dvvset.js';
import { actorsOf, timeOf } from '../../src/versioning/actor-times.js';
import { RIAK_PRUNE_DEFAULTS, type PruneOptions } from '../../src/versioning/version-vector.js';

const KEY = new TextEncoder().encode('cart');
const SEC = 1000;
const DAY = 86_400 * SEC;
const value = (s: string): StoredValue => new TextEncoder().encode(s);
const text = (v: StoredValue) => (v === null ? '∅' : new TextDecoder().decode(v));
const isStored = (x: unknown): x is StoredValue => x === null || x instanceof Uint8Array;

async function replica(clock: { now(): number }, pruning: PruneOptions | false = RIAK_PRUNE_DEFAULTS) {
  const storage = new MemoryStorage();
  await storage.open();
  const counter = await DotCounter.load(storage);
  return { storage, store: new ReplicaStore(storage, DATA_SPACE, counter, { now: () => clock.now(), pruning }) };
}

/** Writes `KEY` as `actor`, having read the replica first (each write supersedes the last). */
async function readModifyWrite(store: ReplicaStore, actor: string, v: string): Promise<Versions> {
  const stored = await store.read(KEY);
  return (await store.coordinate(KEY, stored?.context ?? EMPTY_CONTEXT, actor, value(v))).set;
}

test('a key written by 60 coordinators an hour apart never names more than `big` of them', async () => {
  const clock = new ManualClock(1_700_000_000_000);
  const { store } = await replica(clock);
  let set: Versions | undefined;
  for (let i = 0; i < 60; i++) {
    set = await readModifyWrite(store, `member-${i}`, `v${i}`);
    assert.ok(actorsOf(set.context).length <= RIAK_PRUNE_DEFAULTS.big, `after write ${i}`);
    await clock.advance(3600 * SEC);
  }
  const stored = (await store.read(KEY))!;
  assert.equal(actorsOf(stored.context).length, RIAK_PRUNE_DEFAULTS.big);
  // The oldest coordinators went; the latest write is the one value, its writer kept.
  assert.deepEqual(actorsOf(stored.context), Array.from({ length: 50 }, (_, i) => `member-${i + 10}`).sort());
  assert.deepEqual(stored.values.map((v) => text(v.value)), ['v59']);
  assert.equal(setProblem(stored, isStored), undefined);
});

test('young entries are never pruned; once old, the history shrinks to `small` at the next store', async () => {
  const clock = new ManualClock(5 * DAY);
  const { store } = await replica(clock);
  for (let i = 0; i < 60; i++) {
    await readModifyWrite(store, `member-${String(i).padStart(2, '0')}`, `v${i}`);
    await clock.advance(100); // 60 writes in 6 s: all younger than 20 s
  }
  let stored = (await store.read(KEY))!;
  assert.equal(actorsOf(stored.context).length, 60, 'nothing younger than youngMs goes, however many');

  // A minute later, over `big`: the oldest go down to 50 at the next store (a merge of nothing).
  await clock.advance(60 * SEC);
  const { changed } = await store.merge(KEY, emptySet());
  assert.ok(changed);
  stored = (await store.read(KEY))!;
  assert.equal(actorsOf(stored.context).length, 50);
  assert.ok(!actorsOf(stored.context).includes('member-00'));
  assert.deepEqual(stored.values.map((v) => text(v.value)), ['v59']);

  // A merge that changes nothing writes nothing.
  assert.equal((await store.merge(KEY, emptySet())).changed, false);
});

test('the writer is stamped with the clock, merges keep the later time, unknown times are stamped on storing', async () => {
  const clock = new ManualClock(1_000_000);
  const a = await replica(clock);
  const b = await replica(clock);
  const first = await readModifyWrite(a.store, 'x', 'v1');
  assert.deepEqual(first.times, [['x', 1000]], 'in whole seconds');
  await clock.advance(1500);
  const second = (await b.store.coordinate(KEY, first.context, 'y', value('v2'))).set;
  assert.deepEqual(second.times, [['x', 1002], ['y', 1002]], 'x came from a client context only: stamped now, rounded up');
  const merged = await a.store.merge(KEY, second);
  assert.ok(merged.changed);
  assert.deepEqual(merged.set.times, [['x', 1002], ['y', 1002]]);
  // Only times differ: still a change, so the replicas' bytes converge.
  const later = { ...merged.set, times: [['x', 1700], ['y', 1002]] as const };
  assert.equal((await a.store.merge(KEY, later)).changed, true);
  assert.deepEqual((await a.store.read(KEY))!.times, [['x', 1700], ['y', 1002]]);
});

test('a record stored in format 1 is read with unknown times and stamped when next stored', async () => {
  const clock = new ManualClock(10 * DAY);
  const { storage, store } = await replica(clock, { small: 0, big: 0, youngMs: 1, oldMs: 0 });
  const legacy = new Encoder({ useRecords: false, tagUint8Array: false }).encode([1, ['gone', 4, 'x', 1], [], ['x', 1, null]]);
  await storage.batch([{ type: 'put', space: DATA_SPACE, key: KEY, value: legacy }]);
  // Unknown times are stamped now, so even the most eager pruning sees them as just written.
  const { set } = await store.merge(KEY, emptySet());
  assert.deepEqual(actorsOf(set.context), ['gone', 'x']);
  assert.deepEqual(set.times, [['gone', (10 * DAY) / 1000], ['x', (10 * DAY) / 1000]]);
  // From then on they age from the stamp: the value-less one goes, the tombstone's stays.
  await clock.advance(1);
  const { set: after } = await store.merge(KEY, emptySet());
  assert.deepEqual(actorsOf(after.context), ['x']);
  const bytes = await storage.get(DATA_SPACE, KEY);
  assert.deepEqual(decodeVersions(bytes!), after);
});

test('with pruning off, times are still kept; without a time source, none are stamped', async () => {
  const clock = new ManualClock(42);
  const off = await replica(clock, false);
  for (let i = 0; i < 60; i++) await readModifyWrite(off.store, `m${i}`, `v${i}`);
  await clock.advance(365 * DAY);
  const { set } = await off.store.merge(KEY, emptySet());
  assert.equal(actorsOf(set.context).length, 60);
  assert.equal(timeOf(set.times, 'm0'), 1, '42 ms, rounded up to a second');

  const storage = new MemoryStorage();
  await storage.open();
  const bare = new ReplicaStore(storage, DATA_SPACE, await DotCounter.load(storage));
  const written = (await bare.coordinate(KEY, EMPTY_CONTEXT, 'h', value('v'))).set;
  assert.equal(written.times, undefined);
});

test('wallTime: wall-clock time for the system clock, epoch + now() for a ManualClock', () => {
  const before = Date.now();
  const now = wallTime(systemClock);
  assert.ok(now >= before && now <= Date.now());
  const clock = new ManualClock(7, 1_000);
  assert.equal(wallTime(clock), 1_007);
});

// The replica-level version of the no-loss property: members with their own storage, dot
// counter and clock-pruned ReplicaStore; writes from quorum reads (fresh or stale)
// coordinated at one member and replicated to some others, merges, and "merges of nothing"
// that prune at random points of simulated time.
type Step =
  | { kind: 'write'; at: number; read: number[]; stale: number; blind: boolean; to: number[] }
  | { kind: 'merge'; at: number; from: number }
  | { kind: 'prune'; at: number }
  | { kind: 'tick'; ms: number };
const MEMBERS = 4;
const member = fc.nat(MEMBERS - 1);
const arbStep: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      at: member,
      read: fc.uniqueArray(member, { minLength: 1, maxLength: 3 }),
      stale: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(5) }),
      blind: fc.oneof({ weight: 7, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      to: fc.uniqueArray(member, { maxLength: 2 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('merge' as const), at: member, from: member }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('prune' as const), at: member }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.nat(3000) }) },
);

test('property: at the replica, pruning never loses a value no write has seen', async () => {
  let prunes = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(arbStep, { minLength: 10, maxLength: 40, size: 'max' }),
      fc.record({ small: fc.nat(2), big: fc.nat(3), youngMs: fc.constantFrom(0, 1000), oldMs: fc.constantFrom(0, 4000) }),
      async (steps, pruning) => {
        const clock = new ManualClock(0);
        const members = await Promise.all(Array.from({ length: MEMBERS }, () => replica(clock, pruning)));
        const state = async (i: number) => (await members[i]!.store.read(KEY)) ?? emptySet<StoredValue>();
        const reads: { context: CausalContext; seen: string[] }[] = [];
        const written: string[] = [];
        const seen = new Set<string>();
        for (const step of steps) {
          if (step.kind === 'write') {
            const sets = await Promise.all(step.read.map(state));
            const read = sets.reduce((x, y) => sync(x, y));
            reads.push({ context: read.context, seen: read.values.map((v) => text(v.value)) });
            const used = step.blind ? { context: EMPTY_CONTEXT, seen: [] } : reads[Math.max(0, reads.length - 1 - step.stale)]!;
            const v = `v${written.length}`;
            const { set, encoded } = await members[step.at]!.store.coordinate(KEY, used.context, `m${step.at}`, value(v));
            for (const j of step.to) await members[j]!.store.merge(KEY, decodeVersions(encoded), encoded);
            assert.ok(set.values.some((x) => text(x.value) === v));
            written.push(v);
            for (const s of used.seen) seen.add(s);
          } else if (step.kind === 'merge') {
            await members[step.at]!.store.merge(KEY, await state(step.from));
          } else if (step.kind === 'prune') {
            const before = await state(step.at);
            const { set } = await members[step.at]!.store.merge(KEY, emptySet());
            if (actorsOf(set.context).length < actorsOf(before.context).length) prunes++;
            assert.deepEqual(set.values.map((x) => x.dot), before.values.map((x) => x.dot), 'pruning never touches a value');
          } else {
            await clock.advance(step.ms);
          }
        }
        const all = (await Promise.all(members.map((_, i) => state(i)))).reduce((x, y) => sync(x, y));
        assert.equal(setProblem(all, isStored), undefined);
        const present = new Set(all.values.map((v) => text(v.value)));
        for (const v of written) if (!seen.has(v)) assert.ok(present.has(v), `${v} was never seen by a write, yet it is gone`);
        assert.equal(present.size, all.values.length, 'no value twice (no dot reissued)');
      },
    ),
    { numRuns: 200 },
  );
  assert.ok(prunes > 30, `the histories prune often enough to mean something (${prunes})`);
});
