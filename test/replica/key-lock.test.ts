import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyLock } from '../../src/replica/key-lock.js';

test('runs of the same key never overlap; other keys run concurrently', async () => {
  const lock = new KeyLock();
  const log: string[] = [];
  const step = (name: string, ms: number) => async () => {
    log.push(`${name}:start`);
    await new Promise((r) => setTimeout(r, ms));
    log.push(`${name}:end`);
  };
  await Promise.all([lock.run('a', step('a1', 20)), lock.run('a', step('a2', 1)), lock.run('b', step('b1', 1))]);
  assert.ok(log.indexOf('a1:end') < log.indexOf('a2:start'));
  assert.ok(log.indexOf('b1:end') < log.indexOf('a1:end'), 'b did not wait for a');
  assert.equal(lock.size, 0, 'no state is kept once idle');
});

test('a failing run does not block the next one', async () => {
  const lock = new KeyLock();
  await assert.rejects(lock.run('k', async () => Promise.reject(new Error('boom'))));
  assert.equal(await lock.run('k', async () => 7), 7);
});
