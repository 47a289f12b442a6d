import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { atRank, benchKey, runLoad } from '../../bench/harness.js';

test('atRank: the nearest-rank sample, exact, for any percentile', () => {
  const sorted = Uint32Array.from({ length: 1000 }, (_, i) => i + 1);
  assert.equal(atRank(sorted, 50), 500);
  assert.equal(atRank(sorted, 99), 990);
  assert.equal(atRank(sorted, 99.9), 999);
  assert.equal(atRank(sorted, 100), 1000);
  assert.equal(atRank(sorted, 0), 1);
  assert.equal(atRank(Uint32Array.of(9_900), 99.9), 9_900, 'not rounded up to a bucket bound');
  assert.equal(atRank(new Uint32Array(0), 50), 0);
});

test('runLoad with a warm-up measures only what was issued after it, with the same operations in flight', async () => {
  const latencyOf = (i: number): number => (i % 2 === 0 ? 1 : 3);
  let inFlight = 0;
  let most = 0;
  const op = (i: number): Promise<void> => {
    inFlight++;
    most = Math.max(most, inFlight);
    return new Promise((resolve) =>
      setTimeout(() => {
        inFlight--;
        resolve();
      }, latencyOf(i)),
    );
  };
  const result = await runLoad(op, { concurrency: 8, warmupMs: 60, durationMs: 60 });
  assert.equal(most, 8, 'the measured run continues from the warm-up, never draining to start again');
  assert.ok(result.ops > 0 && result.issued > result.ops, `issued ${result.issued}, measured ${result.ops}`);
  assert.ok(result.seconds >= 0.05 && result.seconds < 0.5, `measured for ${result.seconds} s, not the warm-up too`);
  assert.ok(result.p50 >= 1 && result.p999 < 100, `latencies in ms: p50 ${result.p50}, p99.9 ${result.p999}`);
});

test('runLoad counts `count` operations from the end of the warm-up, and failures only when measured', async () => {
  const result = await runLoad((i) => (i < 5 ? Promise.reject(new Error('warm-up only')) : new Promise((r) => setImmediate(r))), {
    concurrency: 2,
    warmupMs: 20,
    count: 30,
  });
  assert.equal(result.ops, 30);
  assert.equal(result.errors, 0, 'the failures came during the warm-up');
  assert.equal(result.issued - result.ops >= 5, true);
});

test('runLoad counts the major GCs that ended while it measured', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const result = await runLoad(
    (i) => {
      // Two full collections, both after the warm-up (every op here is measured).
      if (i === 3 || i === 7) gc();
      return new Promise((r) => setImmediate(r));
    },
    { concurrency: 1, count: 10 },
  );
  assert.ok(result.majorGcs >= 2, `counted ${result.majorGcs} major GCs`);
});

test('benchKey: one key per index, apart from other prefixes', () => {
  const keys = new Set<string>();
  for (let i = 0; i < 50_000; i++) keys.add(benchKey('k-64-', i));
  assert.equal(keys.size, 50_000);
  assert.ok([...keys].every((k) => k.startsWith('k-64-')));
  assert.notEqual(benchKey('k-1-', 0), benchKey('k-64-', 0));
  assert.equal(benchKey('k-', 35), 'k-z', 'base 36');
});
