import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ManualClock } from '../../src/time/clock.js';
import { HybridClock, LOGICAL_PER_MS, MAX_DRIFT_MS, timestampMs } from '../../src/time/hybrid-clock.js';
import { ValidationError } from '../../src/errors.js';

test('timestamps strictly increase, follow the wall clock, and run ahead only by logical counts', async () => {
  const clock = new ManualClock(0, 1_000);
  const hlc = new HybridClock(clock);
  const a = hlc.now();
  const b = hlc.now();
  assert.equal(a, 1_000 * LOGICAL_PER_MS);
  assert.equal(b, a + 1);
  await clock.advance(5);
  assert.equal(hlc.now(), 1_005 * LOGICAL_PER_MS);
  let last = 0;
  for (let i = 0; i < 2500; i++) last = hlc.now();
  assert.equal(timestampMs(last), 1_007, '2500 events in one millisecond run 2 ms ahead');
});

test('after observing a timestamp up to a minute ahead, every later one is greater', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1e12 }), fc.integer({ min: -1e12, max: MAX_DRIFT_MS }), fc.nat(999), (wall, ahead, logical) => {
      const seen = Math.max(0, wall + ahead) * LOGICAL_PER_MS + logical;
      const hlc = new HybridClock(new ManualClock(0, wall));
      hlc.observe(seen);
      return hlc.now() > seen;
    }),
  );
});

test('the bound on adopted timestamps is a whole millisecond: the last one allowed, logical ticks and all', () => {
  const adopts = (wall: number, seen: number) => {
    const hlc = new HybridClock(new ManualClock(0, wall));
    hlc.observe(seen);
    return hlc.now() > seen;
  };
  const limit = (5_000_000 + MAX_DRIFT_MS) * LOGICAL_PER_MS;
  assert.ok(adopts(5_000_000, limit + 999), 'within the last allowed millisecond');
  assert.ok(!adopts(5_000_000, limit + 1000), 'one millisecond later');
  // The counterexample fast-check found (seed 540338097): wall 0, exactly a minute ahead, logical 1.
  assert.ok(adopts(0, MAX_DRIFT_MS * LOGICAL_PER_MS + 1));
});

test('a timestamp from a clock far ahead is not adopted', () => {
  const hlc = new HybridClock(new ManualClock(0, 1_000_000));
  hlc.observe((1_000_000 + 86_400_000) * LOGICAL_PER_MS);
  assert.equal(timestampMs(hlc.now()), 1_000_000);
});

test('malformed timestamps are refused', () => {
  const hlc = new HybridClock(new ManualClock());
  for (const bad of [-1, 1.5, Number.NaN, 1e16, '5' as unknown as number]) {
    assert.throws(() => hlc.observe(bad), ValidationError);
  }
});
