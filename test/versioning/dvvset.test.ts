import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ValidationError } from '../../src/errors.js';
import { descends, increment, mergeVV, vv, type VersionVector } from '../../src/versioning/version-vector.js';
import {
  EMPTY_CONTEXT,
  addDot,
  contextProblem,
  covers,
  emptySet,
  equivalent,
  maxCounter,
  mergeContexts,
  setProblem,
  sync,
  update,
  valuesOf,
  type CausalContext,
  type Dot,
  type DVVSet,
} from '../../src/versioning/dvvset.js';

// Notation: ctx({a: 2}, [['a', 4]]) is "a up to 2, plus the dot (a,4)"; values are listed in
// canonical order (actor ascending, counter descending) as [actor, counter, value].
function ctx(v: Record<string, number>, cloud: [string, number][] = []): CausalContext {
  return { vv: vv(v), cloud: cloud.map(([actor, counter]) => ({ actor, counter })) };
}
function dvv<V>(v: Record<string, number>, values: [string, number, V][], cloud: [string, number][] = []): DVVSet<V> {
  return { context: ctx(v, cloud), values: values.map(([actor, counter, value]) => ({ dot: { actor, counter }, value })) };
}
const isString = (x: unknown): x is string => typeof x === 'string';
function assertCanonical(set: DVVSet<string>): void {
  assert.equal(setProblem(set, isString), undefined);
}

test('a write with no context at a, then one with that context', () => {
  const r1 = update(emptySet<string>(), EMPTY_CONTEXT, 'a', 'v1');
  assert.deepEqual(r1.set, dvv({ a: 1 }, [['a', 1, 'v1']]));
  assert.deepEqual(r1.dot, { actor: 'a', counter: 1 });
  assert.deepEqual(r1.context, ctx({ a: 1 }));
  const r2 = update(r1.set, r1.context, 'a', 'v2');
  assert.deepEqual(r2.set, dvv({ a: 2 }, [['a', 2, 'v2']]));
});

test('the write sequence v1..v5', () => {
  const stored = dvv({ a: 2 }, [['a', 2, 'v2']]);
  // v3 with the fresh context at b: one value.
  assert.deepEqual(update(stored, ctx({ a: 2 }), 'b', 'v3').set, dvv({ a: 2, b: 1 }, [['b', 1, 'v3']]));
  // v4 with the stale context {a:1} at b: two siblings.
  assert.deepEqual(
    update(stored, ctx({ a: 1 }), 'b', 'v4').set,
    dvv({ a: 2, b: 1 }, [['a', 2, 'v2'], ['b', 1, 'v4']]),
  );
  // v5 with the stale context {a:1} at a: two siblings, both from a.
  const r5 = update(stored, ctx({ a: 1 }), 'a', 'v5');
  assert.deepEqual(r5.set, dvv({ a: 3 }, [['a', 3, 'v5'], ['a', 2, 'v2']]));
  assert.deepEqual(valuesOf(r5.set), ['v5', 'v2']);
});

test('the returned context is the client context plus the new dot, never the sibling it did not see', () => {
  const stored = dvv({ a: 2 }, [['a', 2, 'v2']]);
  const r5 = update(stored, ctx({ a: 1 }), 'a', 'v5');
  assert.deepEqual(r5.context, ctx({ a: 1 }, [['a', 3]]));
  assert.deepEqual(r5.context, addDot(ctx({ a: 1 }), r5.dot));
  assert.ok(covers(r5.context, { actor: 'a', counter: 3 }));
  assert.ok(!covers(r5.context, { actor: 'a', counter: 2 }), 'v2 was never seen by this writer');
  // "a up to 3", all an implicit-dot clock could say, would claim v2 too.
  assert.ok(covers(ctx({ a: 3 }), { actor: 'a', counter: 2 }));
  // Writing again with the returned context supersedes v5 and keeps v2.
  const r6 = update(r5.set, r5.context, 'a', 'v6');
  assert.deepEqual(r6.set, dvv({ a: 4 }, [['a', 4, 'v6'], ['a', 2, 'v2']]));
  assert.deepEqual(r6.context, ctx({ a: 1 }, [['a', 3], ['a', 4]]), '(a,2) still separates them from the vector');
});

test('a writer that never reads while an unseen sibling lingers carries one more dot per write; a read resets it', () => {
  let stored = dvv({ a: 3 }, [['a', 3, 'v5'], ['a', 2, 'v2']]);
  let mine = ctx({ a: 1 }, [['a', 3]]);
  for (let i = 0; i < 10; i++) {
    const r = update(stored, mine, 'a', `x${i}`);
    stored = r.set;
    mine = r.context;
  }
  assert.deepEqual(valuesOf(stored), ['x9', 'v2']);
  assert.equal(mine.cloud.length, 11, 'every own write sits above the hole at (a,2)');
  // A get returns the whole history; writing with it resolves the sibling, and the context folds.
  const resolved = update(stored, stored.context, 'a', 'merged');
  assert.deepEqual(resolved.set, dvv({ a: 14 }, [['a', 14, 'merged']]));
  assert.deepEqual(resolved.context, ctx({ a: 14 }));
});

test('the writer context fills a hole whose versions this replica knows are obsolete', () => {
  // The writer saw only {b:1}; (a,1..2) are obsolete here, (b,2) is a live sibling.
  const stored = dvv({ a: 2, b: 2 }, [['b', 2, 'y']]);
  const r = update(stored, ctx({ b: 1 }), 'a', 'z');
  assert.deepEqual(r.set, dvv({ a: 3, b: 2 }, [['a', 3, 'z'], ['b', 2, 'y']]));
  assert.deepEqual(r.context, ctx({ a: 3, b: 1 }), 'rather than {b:1} plus the dot (a,3)');
  assert.ok(!covers(r.context, { actor: 'b', counter: 2 }));
});

// Riak before DVVs (vnode vclocks): one clock for the whole object, so a write either
// replaces every sibling (its context descends the object's clock) or adds one more.
interface ObjectClock {
  readonly clock: VersionVector;
  readonly values: readonly string[];
}
function objectClockPut(stored: ObjectClock, client: VersionVector, actor: string, value: string): ObjectClock {
  const values = descends(client, stored.clock) ? [value] : [...stored.values, value];
  return { clock: increment(mergeVV(stored.clock, client), actor), values };
}

test('the classic example: Mary and Peter; exactly v3 and v2 remain, v1 is gone', () => {
  const mary1 = update(emptySet<string>(), EMPTY_CONTEXT, 'a', 'v1');
  const peterRead = mary1.set.context;
  assert.deepEqual(peterRead, ctx({ a: 1 }));
  const mary2 = update(mary1.set, EMPTY_CONTEXT, 'a', 'v2');
  assert.deepEqual(mary2.set, dvv({ a: 2 }, [['a', 2, 'v2'], ['a', 1, 'v1']]));
  const peter = update(mary2.set, peterRead, 'a', 'v3');
  assert.deepEqual(peter.set, dvv({ a: 3 }, [['a', 3, 'v3'], ['a', 2, 'v2']]));

  // The single per-object clock cannot tell v1 from v2: all three survive.
  let baseline: ObjectClock = { clock: [], values: [] };
  baseline = objectClockPut(baseline, [], 'a', 'v1');
  const peterClock = baseline.clock;
  baseline = objectClockPut(baseline, [], 'a', 'v2');
  baseline = objectClockPut(baseline, peterClock, 'a', 'v3');
  assert.deepEqual(baseline.values, ['v1', 'v2', 'v3']);
});

test('per-version clocks stamped with the coordinator counter lose a concurrent write (Dynamo §4.4 at one server)', () => {
  // Each version carries its own clock: the client's, with the coordinator's entry bumped.
  type Versioned = { clock: VersionVector; value: string };
  const put = (stored: Versioned[], client: VersionVector, value: string): Versioned[] => {
    const top = Math.max(0, ...stored.map((v) => v.clock.find(([x]) => x === 'a')?.[1] ?? 0));
    const clock = mergeVV(client, vv({ a: top + 1 }));
    return [...stored.filter((v) => !descends(clock, v.clock)), { clock, value }];
  };
  const afterBoth = put(put([], [], 'x1'), [], 'y1');
  assert.deepEqual(afterBoth.map((v) => v.value), ['y1'], 'x1 vanished though y1 never saw it');
  const dvvBoth = update(update(emptySet<string>(), EMPTY_CONTEXT, 'a', 'x1').set, EMPTY_CONTEXT, 'a', 'y1').set;
  assert.deepEqual(valuesOf(dvvBoth).sort(), ['x1', 'y1']);
});

test('sync: a replica that has seen and dropped v1 removes it from the other', () => {
  const a = dvv({ a: 1 }, []);
  const b = dvv({ a: 2 }, [['a', 2, 'v2'], ['a', 1, 'v1']]);
  const expected = dvv({ a: 2 }, [['a', 2, 'v2']]);
  assert.deepEqual(sync(a, b), expected);
  assert.deepEqual(sync(b, a), expected);
});

test('sync: clocks forked from {a:2} with v3 written at b and at c keep both', () => {
  const base = dvv({ a: 2 }, [['a', 2, 'v2']]);
  const atB = update(base, base.context, 'b', 'v3').set;
  const atC = update(base, base.context, 'c', 'v3').set;
  const expected = dvv({ a: 2, b: 1, c: 1 }, [['b', 1, 'v3'], ['c', 1, 'v3']]);
  assert.deepEqual(sync(atB, atC), expected);
  assert.deepEqual(sync(atC, atB), expected);
  assert.ok(equivalent(sync(atB, atC), sync(atC, atB)));
});

test('sibling explosion: 101 alternating writers; DVV keeps at most 2, one object clock keeps 101', () => {
  let stored = emptySet<string>();
  const contexts: CausalContext[] = [EMPTY_CONTEXT, EMPTY_CONTEXT];
  let baseline: ObjectClock = { clock: [], values: [] };
  const baselineContexts: VersionVector[] = [[], []];
  let most = 0;
  for (let i = 0; i < 101; i++) {
    const writer = i % 2;
    // Each writer puts with the context its own previous put returned, never reading.
    const written = update(stored, contexts[writer]!, 'a', `v${i}`);
    stored = written.set;
    contexts[writer] = written.context;
    most = Math.max(most, stored.values.length);
    assertCanonical(stored);
    assert.ok(written.context.cloud.length <= 1, 'the writer context does not grow either');
    baseline = objectClockPut(baseline, baselineContexts[writer]!, 'a', `v${i}`);
    baselineContexts[writer] = baseline.clock;
  }
  assert.ok(most <= 3, `DVV kept ${most} siblings`);
  assert.deepEqual(valuesOf(stored), ['v100', 'v99']);
  assert.equal(baseline.values.length, 101);
});

test('contexts: dots fold into the vector once contiguous', () => {
  assert.deepEqual(addDot(EMPTY_CONTEXT, { actor: 'a', counter: 1 }), ctx({ a: 1 }));
  assert.deepEqual(addDot(EMPTY_CONTEXT, { actor: 'a', counter: 3 }), ctx({}, [['a', 3]]));
  const holed = ctx({ a: 1 }, [['a', 3], ['a', 4], ['b', 2]]);
  assert.equal(contextProblem(holed), undefined);
  assert.deepEqual(addDot(holed, { actor: 'a', counter: 2 }), ctx({ a: 4 }, [['b', 2]]));
  assert.deepEqual(mergeContexts(holed, ctx({ a: 2, b: 1 })), ctx({ a: 4, b: 2 }));
  assert.deepEqual(mergeContexts(holed, ctx({}, [['b', 5]])), ctx({ a: 1 }, [['a', 3], ['a', 4], ['b', 2], ['b', 5]]));
  assert.equal(maxCounter(holed, 'a'), 4);
  assert.equal(maxCounter(holed, 'b'), 2);
  assert.equal(maxCounter(holed, 'c'), 0);
  assert.ok(covers(holed, { actor: 'a', counter: 4 }));
  assert.ok(!covers(holed, { actor: 'a', counter: 2 }));
  assert.equal(addDot(holed, { actor: 'a', counter: 1 }), holed, 'adding a covered dot changes nothing');
  assert.throws(() => addDot(holed, { actor: 'a', counter: 0 }), ValidationError);
});

test('contextProblem names what is not canonical', () => {
  assert.match(contextProblem(ctx({ a: 1 }, [['a', 2]])) ?? '', /compacted/);
  assert.match(contextProblem(ctx({}, [['a', 1]])) ?? '', /compacted/);
  assert.match(contextProblem(ctx({ a: 2 }, [['a', 2]])) ?? '', /covers/);
  assert.match(contextProblem(ctx({}, [['b', 3], ['a', 3]])) ?? '', /sorted/);
  assert.match(contextProblem(ctx({}, [['a', 3], ['a', 3]])) ?? '', /sorted/);
  assert.match(contextProblem({ vv: [['b', 1], ['a', 1]], cloud: [] }) ?? '', /vector/);
  assert.equal(contextProblem(ctx({}, [['a', 3], ['a', 4]])), undefined, 'a run above a gap is canonical');
  assert.match(setProblem(dvv({ a: 1 }, [['a', 2, 'x']]), isString) ?? '', /covered/);
  assert.match(setProblem(dvv({ a: 2 }, [['a', 1, 'x'], ['a', 2, 'y']]), isString) ?? '', /sorted/);
  assert.match(setProblem(dvv({ a: 2 }, [['a', 2, 'x'], ['a', 2, 'y']]), isString) ?? '', /sorted/);
  assert.match(setProblem(dvv({ a: 2 }, [['a', 2, 7]]), isString) ?? '', /type/);
});

test('update takes the next counter above both the stored and the client history', () => {
  // A replica that lost this key must not reissue (a,1..5), which name other values.
  const r = update(emptySet<string>(), ctx({ a: 5 }), 'a', 'x');
  assert.deepEqual(r.dot, { actor: 'a', counter: 6 });
  assert.deepEqual(r.set, dvv({ a: 6 }, [['a', 6, 'x']]));
  assert.throws(() => update(emptySet<string>(), ctx({ a: Number.MAX_SAFE_INTEGER }), 'a', 'x'), ValidationError);
  assert.throws(() => update(emptySet<string>(), EMPTY_CONTEXT, 7 as unknown as string, 'x'), ValidationError);
});

test('odd actor names are ordinary actors', () => {
  const r1 = update(emptySet<string>(), EMPTY_CONTEXT, '__proto__', 'p');
  const r2 = update(r1.set, EMPTY_CONTEXT, '', 'e');
  assert.deepEqual(r2.set.context.vv, [['', 1], ['__proto__', 1]]);
  assertCanonical(r2.set);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

// ---------------------------------------------------------------------------------------
// Property tests over random histories: replicas coordinate writes with contexts read from
// replicas or returned by earlier writes, and sync in random pairs. Every dot then names
// one value, as in the real system, which is what the join laws assume.

const REPLICAS = ['a', '__proto__', ''] as const;
type Command =
  | { kind: 'write'; at: number; source: number }
  | { kind: 'sync'; from: number; to: number };
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ kind: fc.constant('write' as const), at: fc.nat(2), source: fc.nat(40) }),
  fc.record({ kind: fc.constant('sync' as const), from: fc.nat(2), to: fc.nat(2) }),
);

interface Written {
  readonly dot: Dot;
  readonly client: CausalContext;
}

/** Every dot issued so far, plus one fresh dot per actor, to probe `covers` with. */
function probes(written: readonly Written[]): Dot[] {
  const out = written.map((w) => w.dot);
  for (const actor of REPLICAS) out.push({ actor, counter: 1 + Math.max(0, ...written.filter((w) => w.dot.actor === actor).map((w) => w.dot.counter)) });
  return out;
}

function run(commands: readonly Command[]) {
  const replicas: DVVSet<string>[] = REPLICAS.map(() => emptySet<string>());
  const returned: CausalContext[] = [];
  const written: Written[] = [];
  const snapshots: DVVSet<string>[] = [emptySet<string>()];
  const contexts: CausalContext[] = [EMPTY_CONTEXT];
  for (const c of commands) {
    if (c.kind === 'sync') {
      const before = replicas[c.to]!;
      const other = replicas[c.from]!;
      const merged = sync(before, other);
      assertCanonical(merged);
      for (const [mine, theirs] of [
        [before, other],
        [other, before],
      ] as const) {
        for (const v of mine.values) {
          const inTheirs = theirs.values.some((w) => w.dot.actor === v.dot.actor && w.dot.counter === v.dot.counter);
          const kept = merged.values.some((w) => w.dot.actor === v.dot.actor && w.dot.counter === v.dot.counter);
          // Kept iff the other side holds it too or has never seen it.
          assert.equal(kept, inTheirs || !covers(theirs.context, v.dot));
        }
      }
      replicas[c.to] = merged;
      snapshots.push(merged);
      continue;
    }
    const stored = replicas[c.at]!;
    const s = c.source;
    const client =
      s === 0 ? EMPTY_CONTEXT : s <= 3 ? replicas[(s - 1) % 3]!.context : returned[s % Math.max(1, returned.length)] ?? EMPTY_CONTEXT;
    const result = update(stored, client, REPLICAS[c.at]!, `w${written.length}`);
    assertCanonical(result.set);
    assert.equal(contextProblem(result.context), undefined);
    // Exactly the stored values the client covers are dropped.
    for (const v of stored.values) {
      const kept = result.set.values.some((w) => w.dot.actor === v.dot.actor && w.dot.counter === v.dot.counter);
      assert.equal(kept, !covers(client, v.dot));
    }
    assert.equal(result.set.values.length, stored.values.filter((v) => !covers(client, v.dot)).length + 1);
    assert.ok(!covers(stored.context, result.dot) && !covers(client, result.dot), 'the dot is fresh');
    assert.deepEqual(result.set.context, addDot(mergeContexts(stored.context, client), result.dot));
    // The writer's context: at least client ∪ {dot}; beyond it, only versions already superseded here.
    const minimal = addDot(client, result.dot);
    for (const d of probes([...written, { dot: result.dot, client }])) {
      if (covers(minimal, d)) assert.ok(covers(result.context, d));
      else if (covers(result.context, d)) {
        assert.ok(covers(result.set.context, d), 'claims only versions this replica has seen');
        assert.ok(!result.set.values.some((v) => v.dot.actor === d.actor && v.dot.counter === d.counter), 'and that are obsolete');
      }
    }
    written.push({ dot: result.dot, client });
    returned.push(result.context);
    replicas[c.at] = result.set;
    snapshots.push(result.set);
    contexts.push(client, result.context);
  }
  return { replicas, written, snapshots, contexts };
}

test('property: update and sync keep the invariants at every step', () => {
  fc.assert(fc.property(fc.array(command, { maxLength: 40 }), (commands) => void run(commands)), { numRuns: 300 });
});

test('property: after full anti-entropy every replica agrees, and a write is gone iff a later write saw it', () => {
  fc.assert(
    fc.property(fc.array(command, { maxLength: 40 }), (commands) => {
      const { replicas, written } = run(commands);
      const all = replicas.reduce((x, y) => sync(x, y));
      for (const r of replicas) {
        assert.ok(equivalent(sync(r, all), all));
        assert.deepEqual(sync(r, all), all);
      }
      for (const w of written) {
        const present = all.values.some((v) => v.dot.actor === w.dot.actor && v.dot.counter === w.dot.counter);
        const superseded = written.some((later) => covers(later.client, w.dot));
        assert.equal(present, !superseded, `write ${w.dot.actor}:${w.dot.counter}`);
      }
    }),
    { numRuns: 300 },
  );
});

test('property: sync is commutative, associative and idempotent', () => {
  fc.assert(
    fc.property(fc.array(command, { maxLength: 30 }), fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat()), { maxLength: 10 }), (commands, picks) => {
      const { snapshots } = run(commands);
      const at = (i: number) => snapshots[i % snapshots.length]!;
      for (const [i, j, k] of picks) {
        const [a, b, c] = [at(i), at(j), at(k)];
        assert.deepEqual(sync(a, b), sync(b, a));
        assert.deepEqual(sync(sync(a, b), c), sync(a, sync(b, c)));
        assert.deepEqual(sync(a, a), a);
        assert.equal(equivalent(a, b), JSON.stringify(a) === JSON.stringify(b));
      }
    }),
    { numRuns: 200 },
  );
});

test('property: mergeContexts is a join, and covers what either side covers', () => {
  fc.assert(
    fc.property(fc.array(command, { maxLength: 30 }), fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat()), { maxLength: 10 }), (commands, picks) => {
      const { contexts, written } = run(commands);
      const at = (i: number) => contexts[i % contexts.length]!;
      const dots = probes(written);
      for (const [i, j, k] of picks) {
        const [a, b, c] = [at(i), at(j), at(k)];
        const ab = mergeContexts(a, b);
        assert.equal(contextProblem(ab), undefined);
        assert.deepEqual(ab, mergeContexts(b, a));
        assert.deepEqual(mergeContexts(ab, c), mergeContexts(a, mergeContexts(b, c)));
        assert.deepEqual(mergeContexts(a, a), a);
        for (const d of dots) assert.equal(covers(ab, d), covers(a, d) || covers(b, d));
      }
    }),
    { numRuns: 200 },
  );
});

test('property: a context built from any dots covers exactly those dots, in canonical form', () => {
  const dot = fc.record({ actor: fc.constantFrom('a', 'b', '__proto__'), counter: fc.integer({ min: 1, max: 8 }) });
  fc.assert(
    fc.property(fc.array(dot, { maxLength: 20 }), fc.array(dot, { maxLength: 20 }), (xs, ys) => {
      const build = (ds: Dot[]) => ds.reduce(addDot, EMPTY_CONTEXT);
      const cx = build(xs);
      const cy = build(ys);
      assert.equal(contextProblem(cx), undefined);
      assert.deepEqual(cx, build(xs.slice().reverse()), 'order of insertion does not matter');
      const merged = mergeContexts(cx, cy);
      assert.deepEqual(merged, build([...xs, ...ys]));
      for (const actor of ['a', 'b', '__proto__']) {
        for (let counter = 1; counter <= 9; counter++) {
          const d = { actor, counter };
          const inXs = xs.some((x) => x.actor === actor && x.counter === counter);
          assert.equal(covers(cx, d), inXs);
        }
      }
    }),
  );
});
