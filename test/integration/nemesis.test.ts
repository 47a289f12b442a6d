import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSim } from '../helpers/sim.js';

// SEEDS=100 BASE_SEED=7 npm test -- replays or widens the search; scripts/nemesis.ts runs many more.
const SEEDS = Number(process.env['SEEDS'] ?? 20);
const BASE = Number(process.env['BASE_SEED'] ?? 1);

test(`set workload under partitions, isolation, crashes and restarts loses no acknowledged add (${SEEDS} seeds)`, async () => {
  const rates: number[] = [];
  for (let seed = BASE; seed < BASE + SEEDS; seed++) {
    const result = await runSim({ seed });
    const { check } = result;
    assert.equal(
      check.valid,
      true,
      `seed ${seed}: lost ${JSON.stringify(check.lost)}, unexpected ${JSON.stringify(check.unexpected)} ` +
        `(replay: BASE_SEED=${seed} SEEDS=1)\n${result.history.slice(-30).join('\n')}`,
    );
    assert.equal(result.hintsLeft, 0, `seed ${seed}: every hint is delivered after recovery`);
    assert.ok(check.acknowledged > 0, `seed ${seed}: some adds were acknowledged`);
    rates.push(result.successRate);
  }
  const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
  console.log(`write success during faults: mean ${(100 * mean).toFixed(1)}%, min ${(100 * Math.min(...rates)).toFixed(1)}% over ${SEEDS} seeds`);
});

test('the same on an asynchronous storage: locked replica writes, coordinators replicating while their own write is in flight (8 seeds)', async () => {
  for (let seed = BASE + 500; seed < BASE + 508; seed++) {
    const result = await runSim({ seed, asyncStorage: true });
    const { check } = result;
    assert.equal(
      check.valid,
      true,
      `seed ${seed}: lost ${JSON.stringify(check.lost)}, unexpected ${JSON.stringify(check.unexpected)} ` +
        `(replay: NEMESIS_ASYNC=1 node --import tsx scripts/nemesis.ts 1 ${seed} 8000)\n${result.history.slice(-30).join('\n')}`,
    );
    assert.equal(result.hintsLeft, 0, `seed ${seed}: every hint is delivered after recovery`);
    assert.ok(check.acknowledged > 0, `seed ${seed}: some adds were acknowledged`);
  }
});

test('the same with asynchronous writes and reads at once under the key lock, as on LevelStorage (6 seeds)', async () => {
  for (let seed = BASE + 600; seed < BASE + 606; seed++) {
    const result = await runSim({ seed, asyncStorage: 'writes' });
    const { check } = result;
    assert.equal(
      check.valid,
      true,
      `seed ${seed}: lost ${JSON.stringify(check.lost)}, unexpected ${JSON.stringify(check.unexpected)} ` +
        `(replay: NEMESIS_ASYNC=writes node --import tsx scripts/nemesis.ts 1 ${seed} 8000)\n${result.history.slice(-30).join('\n')}`,
    );
    assert.equal(result.hintsLeft, 0, `seed ${seed}: every hint is delivered after recovery`);
    assert.ok(check.acknowledged > 0, `seed ${seed}: some adds were acknowledged`);
  }
});

test('a seed replays the same run', async () => {
  const first = await runSim({ seed: 4242, durationMs: 3000 });
  const second = await runSim({ seed: 4242, durationMs: 3000 });
  assert.deepEqual(second.history, first.history);
  assert.deepEqual(second.check, first.check);
});

const MEMBERSHIP_SEEDS = Number(process.env['MEMBERSHIP_SEEDS'] ?? 50);

test(`with joins, leaves, deletes and tombstone collection too, replicas converge and no add is lost (${MEMBERSHIP_SEEDS} seeds)`, async () => {
  for (let seed = BASE; seed < BASE + MEMBERSHIP_SEEDS; seed++) {
    const result = await runSim({ seed, membership: true });
    const { check } = result;
    const replay = `(replay: BASE_SEED=${seed} MEMBERSHIP_SEEDS=1)`;
    assert.equal(check.valid, true, `seed ${seed}: lost ${JSON.stringify(check.lost)} ${replay}\n${result.history.slice(-30).join('\n')}`);
    assert.equal(result.hintsLeft, 0, `seed ${seed}: every hint delivered ${replay}`);
    assert.equal(result.diverged, 0, `seed ${seed}: every replica of every key agrees after quiescence ${replay}`);
  }
});
