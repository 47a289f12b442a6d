import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyLock } from '../../src/replica/key-lock.js';

const k = (text: string): Uint8Array => new TextEncoder().encode(text);

test('runs of the same key never overlap; other keys run concurrently', async () => {
  const lock = new KeyLock();
  const log: string[] = [];
  const step = (name: string, ms: number) => async () => {
    log.push(`${name}:start`);
    await new Promise((r) => setTimeout(r, ms));
    log.push(`${name}:end`);
  };
  await Promise.all([lock.run(k('a'), step('a1', 20)), lock.run(k('a'), step('a2', 1)), lock.run(k('b'), step('b1', 1))]);
  assert.ok(log.indexOf('a1:end') < log.indexOf('a2:start'));
  assert.ok(log.indexOf('b1:end') < log.indexOf('a1:end'), 'b did not wait for a');
  assert.equal(lock.size, 0, 'no state is kept once idle');
});

test('a failing run does not block the next one', async () => {
  const lock = new KeyLock();
  await assert.rejects(lock.run(k('k'), async () => Promise.reject(new Error('boom'))));
  assert.equal(await lock.run(k('k'), async () => 7), 7);
});

test('many keys at once: each key runs in order, none waits for ever', async () => {
  const lock = new KeyLock();
  const order = new Map<string, number[]>();
  const runs: Promise<void>[] = [];
  for (let i = 0; i < 20_000; i++) {
    const key = `key-${i % 5000}`;
    runs.push(
      lock.run(k(key), async () => {
        await Promise.resolve();
        order.set(key, [...(order.get(key) ?? []), i]);
      }),
    );
  }
  await Promise.all(runs);
  for (const [key, seen] of order) assert.deepEqual(seen, [...seen].sort((a, b) => a - b), `${key} ran in call order`);
  assert.equal(order.size, 5000);
  assert.equal(lock.size, 0);
});

test('acquire: a free key is taken before acquire returns; waiters get it in call order, one at a time', async () => {
  const lock = new KeyLock();
  const log: string[] = [];
  let releaseFirst: (() => void) | undefined;
  lock.acquire(k('a'), (release) => {
    log.push('first');
    releaseFirst = release;
  });
  assert.deepEqual(log, ['first'], 'taken at once');
  lock.acquire(k('a'), (release) => {
    log.push('second');
    release();
  });
  lock.acquire(k('a'), (release) => {
    log.push('third');
    release();
  });
  await Promise.resolve();
  assert.deepEqual(log, ['first'], 'the others wait while the first holds the key');
  assert.equal(lock.busy(k('a')), true);
  releaseFirst!();
  releaseFirst!(); // a second release does nothing
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(log, ['first', 'second', 'third']);
  assert.equal(lock.busy(k('a')), false);
  assert.equal(lock.size, 0);
});

test('acquire: a long queue of holders that release at once does not grow the stack', async () => {
  const lock = new KeyLock();
  let release: (() => void) | undefined;
  lock.acquire(k('hot'), (r) => (release = r));
  let ran = 0;
  for (let i = 0; i < 100_000; i++) {
    lock.acquire(k('hot'), (r) => {
      ran++;
      r();
    });
  }
  release!();
  while (lock.busy(k('hot'))) await new Promise((r) => setImmediate(r));
  assert.equal(ran, 100_000);
});
