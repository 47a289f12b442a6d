import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fanOut } from '../../src/coordinator/fan-out.js';
import type { Target } from '../../src/coordinator/targets.js';

const t = (...ids: string[]): Target[] => ids.map((id) => ({ id }));
import { ManualClock, QuorumError } from '../../src/index.js';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

test('resolves once `needed` succeed and keeps collecting the rest until the deadline', async () => {
  const clock = new ManualClock();
  const calls = new Map(['a', 'b', 'c'].map((t) => [t, deferred<string>()]));
  const fan = fanOut(t('a', 'b', 'c'), (x) => calls.get(x.id)!.promise, { needed: 2, label: 'R', timeoutMs: 100, clock });
  calls.get('b')!.resolve('B');
  calls.get('a')!.resolve('A');
  const quorum = await fan.quorum;
  assert.deepEqual(quorum.map((o) => o.target.id), ['b', 'a']);
  calls.get('c')!.resolve('C');
  const all = await fan.settled;
  assert.equal(all.length, 3);
  assert.equal(clock.pending, 0, 'the deadline timer is cleared');
});

test('fails as soon as the quorum is out of reach, with required and acks', async () => {
  const clock = new ManualClock();
  const fan = fanOut(t('a', 'b', 'c'), (x) => (x.id === 'a' ? Promise.resolve(1) : Promise.reject(new Error(x.id))), {
    needed: 2,
    label: 'W',
    timeoutMs: 100,
    clock,
  });
  await assert.rejects(fan.quorum, (e: unknown) => {
    assert.ok(e instanceof QuorumError);
    assert.equal(e.required, 2);
    assert.equal(e.acks, 1);
    assert.ok(e.cause instanceof Error);
    return true;
  });
});

test('fails at the deadline when answers are missing; counts already-acked successes', async () => {
  const clock = new ManualClock();
  const never = new Promise<number>(() => {});
  const fan = fanOut(t('b', 'c'), () => never, { needed: 1, alreadyAcked: 1, label: 'W', timeoutMs: 50, clock });
  const failures: unknown[] = [];
  fan.quorum.catch((e: unknown) => failures.push(e));
  await clock.advance(49);
  assert.equal(failures.length, 0);
  await clock.advance(1);
  const failed = failures[0];
  assert.ok(failed instanceof QuorumError);
  assert.equal(failed.required, 2);
  assert.equal(failed.acks, 1);
  assert.deepEqual(await fan.settled, []);
});

test('needed 0 resolves at once', async () => {
  const clock = new ManualClock();
  const fan = fanOut([], () => Promise.resolve(1), { needed: 0, label: 'W', timeoutMs: 50, clock });
  assert.deepEqual(await fan.quorum, []);
});

test('PW counts only true owners: stand-in acks do not satisfy it', async () => {
  const clock = new ManualClock();
  const targets: Target[] = [{ id: 'a' }, { id: 'x', hintFor: 'b' }, { id: 'y', hintFor: 'c' }];
  const ok = fanOut(targets, () => Promise.resolve(1), { needed: 2, neededPrimaries: 1, label: 'W', timeoutMs: 50, clock });
  assert.equal((await ok.quorum).length >= 2, true);
  const failing = fanOut(targets, (x) => (x.id === 'a' ? Promise.reject(new Error('down')) : Promise.resolve(1)), {
    needed: 2,
    neededPrimaries: 1,
    label: 'W',
    timeoutMs: 50,
    clock,
  });
  await assert.rejects(failing.quorum, (e: unknown) => {
    assert.ok(e instanceof QuorumError);
    assert.match(e.message, /PW=1 not met/);
    assert.equal(e.required, 1);
    assert.equal(e.acks, 0);
    return true;
  });
});
