// Longer nemesis runs than `npm test` makes: `node --import tsx scripts/nemesis.ts [seeds] [first-seed] [durationMs]`.
// NEMESIS_ASYNC=1: members store through the asynchronous Storage interface (test/helpers/sim.ts's asyncStorage);
// NEMESIS_ASYNC=writes: only writes are asynchronous, replicas read under their key lock at once (as on LevelStorage).
// Prints one line per seed and exits non-zero on the first seed that loses an acknowledged add.
import { runSim } from '../test/helpers/sim.js';

const seeds = Number(process.argv[2] ?? 200);
const first = Number(process.argv[3] ?? 1000);
const durationMs = Number(process.argv[4] ?? 15_000);
let acknowledged = 0;
function asyncStorage(mode: string | undefined): boolean | 'writes' {
  return mode === 'writes' ? 'writes' : mode === '1';
}
let attempted = 0;
for (let seed = first; seed < first + seeds; seed++) {
  const result = await runSim({ seed, durationMs, asyncStorage: asyncStorage(process.env['NEMESIS_ASYNC']) });
  acknowledged += result.check.acknowledged;
  attempted += result.ok + result.failed;
  const { lost, unexpected } = result.check;
  console.log(
    `seed ${seed}: ${result.ok} ok, ${result.failed} failed (${(100 * result.successRate).toFixed(1)}%), lost ${lost.length}, unexpected ${unexpected.length}, hints left ${result.hintsLeft}`,
  );
  if (!result.check.valid || result.hintsLeft > 0) {
    console.log(result.history.join('\n'));
    process.exit(1);
  }
}
console.log(`${seeds} seeds: ${acknowledged} acknowledged adds of ${attempted} attempted, none lost`);
