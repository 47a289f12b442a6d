// Anti-entropy figures (issue 4):
// - the 100k-key / 10-difference exchange: bytes and time;
// - how fast a wiped replica of 100k keys is rebuilt by anti-entropy alone, pulled by the
//   wiped member (its sync()) and pushed to it by a full one (target ≥ 20k keys/s);
// - what keeping the Merkle trees current costs the put rate: a 3-member cluster on
//   MemoryStorage at 64 puts in flight, with tree maintenance as it is and switched off
//   (target ≤ 15%).
//
//   node --import tsx bench/anti-entropy.ts [keys]
//   AE_BENCH_SLICE_MS=300 AE_BENCH_SLICES=15 (put-rate slices, and on/off pairs of them)
//   AE_BENCH_SECTIONS=exchange,trees (which parts to run)
//
// Wall-clock rates on a shared machine move with whatever else runs, so each figure is also
// given per CPU-second of this process, which moves much less. The put-rate comparison
// alternates short slices with tree maintenance on and off on one warmed-up cluster (so the
// trees exist, as in a running member: creating one costs a few µs, once per partition) and
// takes the medians of neighbouring pairs; the profiler's share of HashTrees.change on the
// real put path is given alongside.
import { Dynamo, InMemoryNetwork, MemoryStorage, type SyncReport } from '../src/index.js';
import { HashTrees, treeMaintenance } from '../src/anti-entropy/trees.js';
import { DATA_SPACE } from '../src/replica/replica-store.js';
import { runLoad } from './harness.js';

const KEYS = Number(process.argv[2] ?? 100_000);
const SLICE_MS = Number(process.env['AE_BENCH_SLICE_MS'] ?? 300);
const SLICES = Number(process.env['AE_BENCH_SLICES'] ?? 15);
const QUIET = { gossipIntervalMs: 3_600_000, antiEntropyIntervalMs: 3_600_000, timeoutMs: 30_000, readRepair: false };
const verdicts: string[] = [];

const cpuSeconds = (since: NodeJS.CpuUsage): number => {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1e6;
};
const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const rate = (n: number) => Math.round(n).toLocaleString('en');

/** Times `work`, which moves `keys(result)` keys; prints wall and CPU rates; returns keys/s. */
async function timed(label: string, work: () => Promise<SyncReport>, keys: (r: SyncReport) => number): Promise<number> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const report = await work();
  const seconds = (performance.now() - started) / 1000;
  const cpuS = cpuSeconds(cpu);
  const moved = keys(report);
  console.log(
    `${label}: ${moved} keys in ${seconds.toFixed(2)} s = ${rate(moved / seconds)} keys/s ` +
      `(${cpuS.toFixed(2)} CPU s = ${rate(moved / cpuS)} keys per CPU-second)`,
  );
  return moved / seconds;
}

async function exchanges(): Promise<void> {
  const net = new InMemoryNetwork();
  const ids = ['a', 'b', 'c'];
  const nodes = ids.map((id) => new Dynamo({ ...QUIET, id, transport: net.transport(id), storage: new MemoryStorage(), seeds: ids }));
  await Promise.all(nodes.map((n) => n.start()));
  const [a, b, c] = nodes as [Dynamo, Dynamo, Dynamo];

  let next = 0;
  let started = performance.now();
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < KEYS) {
        const i = next++;
        await a.put(`k${i}`, { i, pad: 'x'.repeat(64) }, { w: 3 });
      }
    }),
  );
  console.log(`loaded ${KEYS} keys on 3 replicas in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  net.isolate('b');
  net.isolate('c');
  for (let i = 0; i < 10; i++) await a.put(`k${i * 9973}`, { changed: i }, { w: 1, timeoutMs: 100 }).catch(() => {});
  net.heal();
  const fullCopy = KEYS * (`k${KEYS - 1}`.length + 130);
  started = performance.now();
  const report = await a.sync('b');
  const ms = performance.now() - started;
  console.log(
    `10 of ${KEYS} keys differ: ${report.keysDiffering} keys moved, ${report.bytesSent} bytes sent ` +
      `(${((100 * report.bytesSent) / fullCopy).toFixed(3)}% of a ~${(fullCopy / 1e6).toFixed(1)} MB full copy; ` +
      `${((100 * report.keysDiffering) / KEYS).toFixed(3)}% of the keys), ${report.rangesCompared} ranges, ${ms.toFixed(0)} ms`,
  );

  // The wiped member pulls: its sync() with every other member.
  await b.stop();
  let wiped = new Dynamo({ ...QUIET, id: 'b', transport: net.transport('b'), storage: new MemoryStorage(), seeds: ids });
  await wiped.start();
  const pulled = await timed('wiped replica rebuilt by its own sync()', () => wiped.sync(), (r) => r.keysReceived);

  // A full member pushes: its sync() with the wiped one.
  await wiped.stop();
  wiped = new Dynamo({ ...QUIET, id: 'b', transport: net.transport('b'), storage: new MemoryStorage(), seeds: ids });
  await wiped.start();
  const pushed = await timed("wiped replica rebuilt by a full member's sync('b')", () => a.sync('b'), (r) => r.keysSent);
  await Promise.all([a.stop(), wiped.stop(), c.stop()]);

  verdict('wiped-replica rebuild ≥ 20k keys/s', Math.min(pulled, pushed) >= 20_000, `${rate(pulled)} keys/s pulled, ${rate(pushed)} keys/s pushed`);
}

const VALUE = { sku: 'B00005N5PF', qty: 1, note: 'f'.repeat(96) }; // ~130 bytes encoded, as bench/cluster.ts

/** Puts before measuring: every partition then has its trees, as in a member that has been running. */
const WARM_PUTS = 20_000;

/** A slice of the put load: puts done and this process's CPU seconds meanwhile. */
interface Slice {
  readonly trees: boolean;
  readonly ops: number;
  readonly perSecond: number;
  readonly perCpuSecond: number;
}

/**
 * A 3-member cluster (N=3, R=2, W=2) on MemoryStorage under 64 puts in flight, round-robin
 * over the members. A key written again is written with the context its last put
 * returned, so it is overwritten (one value: one digest out and one in per replica), not
 * given a sibling.
 */
class PutLoad {
  readonly #storages = ['a', 'b', 'c'].map(() => new MemoryStorage());
  readonly #nodes: Dynamo[];
  readonly #contexts = new Map<string, string>();
  readonly #keyOf: (i: number) => string;
  #next = 0;

  constructor(keyOf: (i: number) => string) {
    const net = new InMemoryNetwork();
    const ids = ['a', 'b', 'c'];
    this.#nodes = ids.map((id, i) => new Dynamo({ ...QUIET, id, transport: net.transport(id), storage: this.#storages[i]!, seeds: ids }));
    this.#keyOf = keyOf;
  }

  async start(): Promise<void> {
    await Promise.all(this.#nodes.map((n) => n.start()));
    await this.#run({ concurrency: 64, count: WARM_PUTS });
  }

  /** Puts for `ms` with tree maintenance on or off (the trees are wrong after an off slice: bench only). */
  async slice(trees: boolean, ms: number): Promise<Slice> {
    treeMaintenance.enabled = trees;
    try {
      const cpu = process.cpuUsage();
      const result = await this.#run({ concurrency: 64, durationMs: ms });
      return { trees, ops: result.ops, perSecond: result.opsPerSec, perCpuSecond: result.ops / cpuSeconds(cpu) };
    } finally {
      treeMaintenance.enabled = true;
    }
  }

  /** A record as stored, to time tree updates on. */
  async sample(): Promise<[Uint8Array, Uint8Array]> {
    for await (const entry of this.#storages[0]!.iterate(DATA_SPACE, { limit: 1 })) return entry;
    throw new Error('nothing stored');
  }

  async stop(): Promise<void> {
    await Promise.all(this.#nodes.map((n) => n.stop()));
  }

  async #run(options: { concurrency: number; count?: number; durationMs?: number }) {
    const base = this.#next;
    const result = await runLoad(async (i) => {
      const key = this.#keyOf(base + i);
      const known = this.#contexts.get(key);
      const { context } = await this.#nodes[(base + i) % 3]!.put(key, VALUE, known === undefined ? {} : { context: known });
      this.#contexts.set(key, context);
    }, options);
    this.#next = base + result.ops;
    if (result.errors > 0) throw new Error(`${result.errors} puts failed`);
    return result;
  }
}

/** Microseconds one `HashTrees.change` takes for `sample`: an insert, or an overwrite (two digests). */
function changeMicros(sample: readonly [Uint8Array, Uint8Array], overwrite: boolean): number {
  const [storageKey, record] = sample;
  const trees = new HashTrees(4096);
  const other = record.slice();
  other[other.length - 1]! ^= 1;
  const rounds = 200_000;
  let best = Infinity;
  for (let attempt = 0; attempt < 5; attempt++) {
    const started = performance.now();
    for (let i = 0; i < rounds; i++) {
      if (overwrite) trees.change(storageKey, i & 1 ? record : other, i & 1 ? other : record);
      else trees.change(storageKey, undefined, record);
    }
    best = Math.min(best, ((performance.now() - started) * 1000) / rounds);
  }
  return best;
}

/**
 * Times every `HashTrees.change` while `work` runs: the prototype method wrapped with a
 * clock read on each side, the wrapper's own cost (measured around a no-op) taken off.
 * Clock time inside the calls over the clock time of the work is the share of the put path
 * that updating the trees takes directly (both being wall time, the time this process is
 * descheduled falls on each alike), without the allocation and cache effects it has on the rest.
 */
async function timedChanges<T>(work: () => Promise<T>): Promise<{ value: T; share: number; calls: number }> {
  const original = HashTrees.prototype.change;
  let inside = 0;
  let calls = 0;
  const wrap =
    (fn: (...args: Parameters<HashTrees['change']>) => void) =>
    function (this: HashTrees, ...args: Parameters<HashTrees['change']>): void {
      const started = performance.now();
      fn.apply(this, args);
      inside += performance.now() - started;
      calls++;
    };
  HashTrees.prototype.change = wrap(original);
  let value: T;
  const started = performance.now();
  try {
    value = await work();
  } finally {
    HashTrees.prototype.change = original;
  }
  const elapsed = performance.now() - started;
  const spent = inside;
  const counted = calls;
  // The wrapper around a no-op, in a loop: what it adds to each call.
  const noop = wrap(() => {});
  const key = new Uint8Array(8);
  let overhead = Infinity;
  for (let attempt = 0; attempt < 5; attempt++) {
    inside = 0;
    for (let i = 0; i < 100_000; i++) noop.call(undefined as unknown as HashTrees, key, undefined, key);
    overhead = Math.min(overhead, inside / 100_000);
  }
  return { value, share: Math.max(0, spent - counted * overhead) / elapsed, calls: counted };
}

/**
 * Put rate with tree maintenance on and off, in alternating slices of SLICE_MS on one warmed
 * cluster: neighbouring slices run under the same load from the rest of the machine, which
 * drifts over seconds, so comparing them cancels most of it. Medians of SLICES pairs.
 */
async function treeCost(workload: string, keyOf: (i: number) => string, overwrite: boolean): Promise<void> {
  const load = new PutLoad(keyOf);
  await load.start();
  const pairs: [on: Slice, off: Slice][] = [];
  for (let i = 0; i < SLICES; i++) {
    // Alternate which goes first, so neither side always follows the other's garbage.
    if (i % 2 === 0) {
      const on = await load.slice(true, SLICE_MS);
      pairs.push([on, await load.slice(false, SLICE_MS)]);
    } else {
      const off = await load.slice(false, SLICE_MS);
      pairs.push([await load.slice(true, SLICE_MS), off]);
    }
  }
  // Time spent inside the tree updates during a longer slice.
  const inside = await timedChanges(() => load.slice(true, 4 * SLICE_MS));
  const share = inside.share;
  const sample = await load.sample();
  await load.stop();

  const wallOn = median(pairs.map(([on]) => on.perSecond));
  const wallOff = median(pairs.map(([, off]) => off.perSecond));
  const cpuOn = median(pairs.map(([on]) => on.perCpuSecond));
  const cpuOff = median(pairs.map(([, off]) => off.perCpuSecond));
  const wallCost = median(pairs.map(([on, off]) => 1 - on.perSecond / off.perSecond));
  const cpuCost = median(pairs.map(([on, off]) => 1 - on.perCpuSecond / off.perCpuSecond));
  // A put changes the record on all three replicas; each change alone, in a loop.
  const micros = changeMicros(sample, overwrite);
  const direct = (3 * micros) / (1e6 / cpuOn);
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  console.log(
    `put rate, ${workload}, 64 in flight, ${SLICES} pairs of ${SLICE_MS} ms slices (medians): ` +
      `trees kept ${rate(wallOn)}/s, off ${rate(wallOff)}/s → cost ${pct(wallCost)}; ` +
      `per CPU-second ${rate(cpuOn)} vs ${rate(cpuOff)} → cost ${pct(cpuCost)}`,
  );
  console.log(
    `  inside HashTrees.change: ${pct(share)} of a ${4 * SLICE_MS} ms slice (${(inside.calls / inside.value.ops).toFixed(1)} calls a put); ` +
      `${micros.toFixed(2)} µs a call in a tight loop (3 a put: ${pct(direct)} of a put's CPU)`,
  );
  verdict(
    `tree maintenance ≤ 15% of put throughput (${workload})`,
    cpuCost <= 0.15 && share <= 0.15,
    `${pct(cpuCost)} per CPU-second, ${pct(wallCost)} by wall clock (A/B, noisy on a shared machine); ${pct(share)} of the time inside the tree updates`,
  );
}

function verdict(name: string, ok: boolean, detail: string): void {
  verdicts.push(`- ${ok ? 'met   ' : 'MISSED'} ${name}: ${detail}`);
}

const SECTIONS = (process.env['AE_BENCH_SECTIONS'] ?? 'exchange,trees').split(',');
if (SECTIONS.includes('exchange')) await exchanges();
if (SECTIONS.includes('trees')) {
  await treeCost('fresh keys', (i) => `k-${i}`, false);
  await treeCost('overwrites of 10k keys', (i) => `k-${i % 10_000}`, true);
}
console.log('\nTargets (issue 4):');
for (const line of verdicts) console.log(line);
