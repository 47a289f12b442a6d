// Shared by the CRDT tests: reachable states from random replica histories, and the
// join-semilattice laws every CRDT must satisfy.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ValidationError } from '../../src/errors.js';
import { decodeCrdt, encodeCrdt, type Crdt } from '../../src/crdt/index.js';

/** The actors of the replicas in a history; `fresh` is never used by one. */
export const ACTORS = ['r0', 'r1', 'r2'] as const;
export const FRESH = 'fresh';

/** A state some replica reached, and the actor of that replica. */
export interface Snapshot<S> {
  readonly state: S;
  readonly actor: string;
  readonly replica: number;
}

/** One step of a history: an operation at a replica, or a merge of one replica into another. */
export type Step<S> =
  | { readonly kind: 'op'; readonly replica: number; readonly apply: (state: S, actor: string) => S; readonly label: string }
  | { readonly kind: 'merge'; readonly from: number; readonly to: number }
  | { readonly kind: 'ship'; readonly from: number; readonly to: number; readonly delta: (state: S, actor: string) => S; readonly label: string };

/** What a history produced: every state reached (in order) and each replica's last. */
export interface History<S> {
  readonly snapshots: readonly Snapshot<S>[];
  readonly finals: readonly S[];
  readonly steps: readonly Step<S>[];
}

/**
 * Histories of three replicas applying `ops` and merging each other's states. `deltas`, if
 * given, are changes computed at one replica that are applied there and shipped to another.
 * All states of one history are consistent with each other (no actor is used by two replicas).
 */
export function histories<S extends { merge(other: S): S }>(
  empty: S,
  ops: fc.Arbitrary<{ apply: (state: S, actor: string) => S; label: string }>,
  options: { deltas?: fc.Arbitrary<{ delta: (state: S, actor: string) => S; label: string }>; maxSteps?: number } = {},
): fc.Arbitrary<History<S>> {
  const replica = fc.integer({ min: 0, max: ACTORS.length - 1 });
  const steps: fc.Arbitrary<Step<S>>[] = [
    fc.record({ replica, op: ops }).map(({ replica, op }) => ({ kind: 'op' as const, replica, ...op })),
    fc.record({ from: replica, to: replica }).map(({ from, to }) => ({ kind: 'merge' as const, from, to })),
  ];
  if (options.deltas !== undefined) {
    steps.push(fc.record({ from: replica, to: replica, d: options.deltas }).map(({ from, to, d }) => ({ kind: 'ship' as const, from, to, ...d })));
  }
  return fc.array(fc.oneof({ weight: 3, arbitrary: steps[0]! }, ...steps.slice(1)), { maxLength: options.maxSteps ?? 25 }).map((list) => {
    const states: S[] = ACTORS.map(() => empty);
    const snapshots: Snapshot<S>[] = ACTORS.map((actor, i) => ({ state: empty, actor, replica: i }));
    const record = (i: number): void => void snapshots.push({ state: states[i]!, actor: ACTORS[i]!, replica: i });
    for (const step of list) {
      if (step.kind === 'op') {
        states[step.replica] = step.apply(states[step.replica]!, ACTORS[step.replica]!);
        record(step.replica);
      } else if (step.kind === 'merge') {
        states[step.to] = states[step.to]!.merge(states[step.from]!);
        record(step.to);
      } else {
        const delta = step.delta(states[step.from]!, ACTORS[step.from]!);
        states[step.from] = states[step.from]!.merge(delta);
        states[step.to] = states[step.to]!.merge(delta);
        record(step.from);
        record(step.to);
      }
    }
    return { snapshots, finals: states, steps: list };
  });
}

/** Three states of one history (repeats allowed). */
export function triples<S extends { merge(other: S): S }>(history: fc.Arbitrary<History<S>>): fc.Arbitrary<[S, S, S]> {
  return history.chain((h) => {
    const pick = fc.integer({ min: 0, max: h.snapshots.length - 1 }).map((i) => h.snapshots[i]!.state);
    return fc.tuple(pick, pick, pick);
  });
}

interface Lattice<S> {
  merge(other: S): S;
  equals(other: S): boolean;
  descends(other: S): boolean;
}

function same<S extends Crdt & Lattice<S>>(x: S, y: S, what: string): void {
  assert.ok(x.equals(y), `${what}: states differ`);
  assert.deepEqual(encodeCrdt(x), encodeCrdt(y), `${what}: encodings differ`);
}

/**
 * The laws, checked on three states: merge is idempotent, commutative and associative; it
 * is an upper bound of its inputs in the `descends` order (so never loses state) and the
 * least one; `descends` agrees with merge; equal states encode the same and decode back.
 */
export function checkLaws<S extends Crdt & Lattice<S>>([a, b, c]: [S, S, S]): void {
  same(a.merge(a), a, 'idempotence');
  const ab = a.merge(b);
  same(ab, b.merge(a), 'commutativity');
  same(ab.merge(c), a.merge(b.merge(c)), 'associativity');
  assert.ok(ab.descends(a), 'a ⊔ b must descend a');
  assert.ok(ab.descends(b), 'a ⊔ b must descend b');
  assert.equal(a.descends(b), ab.equals(a), 'a descends b exactly when a ⊔ b = a');
  // Least upper bound: anything above both is above their merge.
  if (c.descends(a) && c.descends(b)) assert.ok(c.descends(ab), 'c above a and b must be above a ⊔ b');
  for (const s of [a, ab]) {
    const bytes = encodeCrdt(s);
    const back = decodeCrdt(bytes) as S;
    assert.ok(back.equals(s), 'decode(encode(s)) must equal s');
    assert.deepEqual(encodeCrdt(back), bytes);
  }
}

/** Decodes, insisting that the only possible failure is a ValidationError. */
export function decodeOrRefuse(bytes: Uint8Array): Crdt | ValidationError {
  try {
    return decodeCrdt(bytes);
  } catch (error) {
    assert.ok(error instanceof ValidationError, `threw ${String(error)}`);
    assert.equal(error.code, 'INVALID_ARGUMENT');
    return error;
  }
}

/** Asserts `fn` throws a ValidationError whose message matches `pattern`. */
export function assertRefused(fn: () => unknown, pattern?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ValidationError, `threw ${String(error)}`);
    if (pattern !== undefined) assert.match(error.message, pattern);
    return true;
  });
}

/** A small pool of plain values, so histories revisit the same elements. */
export const elements = fc.constantFrom<unknown>('x', 'y', 'zz', 1, -2.5, null, true, [1, 'x'], { a: 1, b: [2] }, new Uint8Array([7, 8]), 10n);

/** How many runs each property gets: enough to find bugs, cheap on shared cores. */
export const RUNS = { numRuns: 200 } as const;
