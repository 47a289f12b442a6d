// `node --import tsx bench/gossip-convergence.ts [seed]`: how many gossip rounds a cluster
// needs, after its last member joined, until every member lists every other and all compute
// the same preference lists. Members join one by one through a single seed (m1), on an
// InMemoryNetwork driven by a ManualClock, so the numbers are virtual rounds, not wall time,
// and a seed replays exactly. Prints one row per (n, seed) and the median and worst per n,
// next to the bound 2·log2(n) + 4.
import { Dynamo, InMemoryNetwork, ManualClock, seededRandom, type Random } from '../src/index.js';

const GOSSIP_INTERVAL_MS = 200;
const SIZES = [20, 100];
const KEYS = ['cart:alice', 'cart:bob', 'session:42', 'user:7', 'order:2007'];
const MAX_ROUNDS = 200;

/** Advances `clock` in small steps until `promise` settles (or `limitMs` of virtual time passes). */
async function settleWith<T>(clock: ManualClock, promise: Promise<T>, limitMs = 30_000): Promise<T> {
  let done = false;
  const tracked = promise.finally(() => {
    done = true;
  });
  tracked.catch(() => {});
  for (let waited = 0; !done; waited++) {
    if (waited > limitMs) throw new Error(`still pending after ${limitMs} ms of virtual time`);
    await clock.advance(1);
  }
  return tracked;
}

function converged(members: readonly Dynamo[]): boolean {
  const n = members.length;
  const reference = KEYS.map((k) => members[0]!.preferenceList(k).join(','));
  return members.every(
    (m) => m.members().length === n && KEYS.every((k, i) => m.preferenceList(k).join(',') === reference[i]),
  );
}

interface ConvergenceRun {
  readonly n: number;
  readonly seed: number;
  /** Gossip rounds after the last join until convergence. */
  readonly rounds: number;
  /** Virtual milliseconds all the joins took. */
  readonly joinMs: number;
}

/** Builds an n-member cluster one join at a time through m1 and counts rounds to converge. */
async function measureConvergence(n: number, seed: number, latencyMs: readonly [number, number] = [1, 5]): Promise<ConvergenceRun> {
  const clock = new ManualClock();
  const net = new InMemoryNetwork({ clock, seed, latencyMs });
  const master = seededRandom(seed);
  const memberRandom = (): Random => seededRandom(Math.floor(master() * 2 ** 32));
  const members: Dynamo[] = [];
  try {
    for (let i = 1; i <= n; i++) {
      const id = `m${i}`;
      const member = new Dynamo({
        id,
        transport: net.transport(id),
        seeds: ['m1'],
        clock,
        random: memberRandom(),
        gossipIntervalMs: GOSSIP_INTERVAL_MS,
      });
      members.push(member);
      await settleWith(clock, member.start());
    }
    const joinMs = clock.now();
    let rounds = 0;
    while (!converged(members)) {
      if (rounds >= MAX_ROUNDS) return { n, seed, rounds: Infinity, joinMs };
      await clock.advance(GOSSIP_INTERVAL_MS);
      rounds++;
    }
    return { n, seed, rounds, joinMs };
  } finally {
    await settleWith(clock, Promise.all(members.map((m) => m.stop())));
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const seeds = process.argv[2] === undefined ? [1, 2, 3, 4, 5] : [Number(process.argv[2])];
  console.log('gossip convergence after one-by-one joins through one seed');
  console.log(`gossipIntervalMs ${GOSSIP_INTERVAL_MS}, latency 1–5 ms, rounds counted from the last join\n`);
  console.log('    n   seed   join ms   rounds   bound 2·log2(n)+4');
  const summary: string[] = [];
  for (const n of SIZES) {
    const bound = 2 * Math.log2(n) + 4;
    const rounds: number[] = [];
    for (const seed of seeds) {
      const run = await measureConvergence(n, seed);
      rounds.push(run.rounds);
      console.log(
        `${String(n).padStart(5)}  ${String(seed).padStart(5)}  ${String(run.joinMs).padStart(8)}  ${String(run.rounds).padStart(7)}   ${bound.toFixed(1).padStart(8)}`,
      );
    }
    summary.push(
      `${String(n).padStart(5)}  median ${String(median(rounds)).padStart(3)}  worst ${String(Math.max(...rounds)).padStart(3)}  bound ${bound.toFixed(1)}  ${Math.max(...rounds) <= bound ? 'ok' : 'OVER'}`,
    );
  }
  console.log('\n' + summary.join('\n'));
}

await main();
