// Small load generator shared by the benchmarks: keeps `concurrency` operations in flight
// for `durationMs` (or `count` operations) and reports throughput, latency percentiles and
// the garbage collector's pauses meanwhile (most of the tail latency, when it goes wrong).
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

export interface LoadResult {
  /** Operations measured (issued after the warm-up). */
  readonly ops: number;
  /** Operations issued in all, the warm-up's included: `op(i)` was called for i < issued. */
  readonly issued: number;
  readonly errors: number;
  readonly seconds: number;
  readonly opsPerSec: number;
  /**
   * Latencies in milliseconds: the recorded sample at each rank (nearest rank), exact to
   * the microsecond. (The library's own Histogram reports its bucket's upper bound, up to
   * 6.25% above the value: a p99.9 of 9.73–10.24 ms would read as 10.24.)
   */
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  /** Share of the run's wall time the main thread spent in GC pauses, in percent. */
  readonly gcPercent: number;
  /** Longest GC pause, in milliseconds. */
  readonly gcMaxMs: number;
  /**
   * Major (mark-compact) collections that ended in the measured time. One of them stretches
   * every operation in flight, so a run's p99.9 is mostly whether it had one.
   */
  readonly majorGcs: number;
}

export interface LoadOptions {
  concurrency: number;
  /** Stop issuing after this many operations… */
  count?: number;
  /** …or after this long. */
  durationMs?: number;
  /**
   * Run this long first, unmeasured, and measure from then on without stopping: the
   * operations in flight when measuring starts are already spread out, as a service's are.
   * (Starting the measured run from nothing starts `concurrency` operations in one turn
   * of the event loop; they move in lockstep for the first tens of milliseconds, and at
   * 64 in flight that burst alone fills the p99.9.) `count` and `durationMs` count from
   * the end of the warm-up. @default 0
   */
  warmupMs?: number;
}

/**
 * The `i`th key under `prefix`: `prefix` and `i` in base 36. Not `${prefix}${i}`: V8 turns a
 * number into decimal through its number-string cache, a table in the old generation, so
 * every key made that way is a young string an old object points to, and the next scavenge
 * promotes it. In `npm run bench` that alone was ~60% of what the old generation gained per
 * put (17.3 → 6.6 KB a scavenge on LevelStorage): a cost of the load generator, not of the
 * store it measures, which brought the major GCs that set the p99.9.
 */
export function benchKey(prefix: string, i: number): string {
  return prefix + i.toString(36);
}

/** Runs `op(i)` with i = 0, 1, 2, … keeping `concurrency` in flight. */
export async function runLoad(op: (i: number) => Promise<unknown>, options: LoadOptions): Promise<LoadResult> {
  const samples = new LatencySamples();
  const warmupEnd = performance.now() + (options.warmupMs ?? 0);
  const stopAt = options.durationMs === undefined ? Infinity : warmupEnd + options.durationMs;
  let limit = options.count ?? Infinity;
  let next = 0;
  let measuredFrom = options.warmupMs === undefined || options.warmupMs <= 0 ? 0 : -1;
  let started = measuredFrom === 0 ? performance.now() : warmupEnd;
  let errors = 0;
  let firstError: unknown;
  let gcMs = 0;
  let gcMaxMs = 0;
  let majorGcs = 0;
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries() as PerformanceEntry[]) {
      if (entry.startTime < started) continue;
      gcMs += entry.duration;
      gcMaxMs = Math.max(gcMaxMs, entry.duration);
      if (gcKind(entry) === constants.NODE_PERFORMANCE_GC_MAJOR) majorGcs++;
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  async function worker(): Promise<void> {
    for (;;) {
      const t0 = performance.now();
      if (measuredFrom < 0 && t0 >= warmupEnd) {
        // The first operation issued after the warm-up: measuring starts here.
        measuredFrom = next;
        started = t0;
        limit += next;
      }
      // The count is of measured operations: the warm-up issues as many as its time allows.
      if ((measuredFrom >= 0 && next >= limit) || t0 >= stopAt) return;
      const i = next++;
      const measured = measuredFrom >= 0;
      try {
        await op(i);
      } catch (error) {
        if (measured) {
          errors++;
          firstError ??= error;
        }
      }
      if (measured) samples.push((performance.now() - t0) * 1000);
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = Math.max(0, performance.now() - started) / 1000;
  // Entries are delivered asynchronously: let the last ones in before stopping.
  await new Promise((resolve) => setImmediate(resolve));
  gcObserver.disconnect();
  if (errors > 0) console.error(`  ${errors} operations failed; first:`, firstError);
  const ops = next - Math.max(0, measuredFrom);
  const sorted = samples.take().sort();
  return {
    ops,
    issued: next,
    errors,
    seconds,
    opsPerSec: ops === 0 ? 0 : ops / seconds,
    p50: atRank(sorted, 50) / 1000,
    p99: atRank(sorted, 99) / 1000,
    p999: atRank(sorted, 99.9) / 1000,
    gcPercent: (gcMs / 10) / seconds,
    gcMaxMs,
    majorGcs,
  };
}

/** A GC entry's kind (`constants.NODE_PERFORMANCE_GC_*`). */
function gcKind(entry: PerformanceEntry): number | undefined {
  return (entry as { detail?: { kind?: number } | null }).detail?.kind;
}

/** The sample at percentile `p` of ascending `sorted` (nearest rank); 0 when empty. */
export function atRank(sorted: Uint32Array, p: number): number {
  if (sorted.length === 0) return 0;
  // The rank less a hair: 99.9% of 1000 is 999.0000000000001 in floating point.
  const rank = Math.ceil((p / 100) * sorted.length - 1e-9);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function formatRow(name: string, r: LoadResult): string {
  const n = (x: number, d = 2) => x.toFixed(d).padStart(8);
  return `| ${name.padEnd(34)} | ${Math.round(r.opsPerSec).toString().padStart(8)} | ${n(r.p50)} | ${n(r.p99)} | ${n(r.p999)} | ${String(r.errors).padStart(6)} | ${n(r.gcPercent, 1)} | ${n(r.gcMaxMs)} | ${String(r.majorGcs).padStart(8)} |`;
}

export const TABLE_HEADER = [
  `| ${'workload'.padEnd(34)} |    ops/s | p50 ms   | p99 ms   | p99.9 ms | errors | GC %     | GCmax ms | major GC |`,
  `|${'-'.repeat(36)}|---------:|---------:|---------:|---------:|-------:|---------:|---------:|---------:|`,
].join('\n');

/** Growable array of latencies in microseconds. */
export class LatencySamples {
  #data = new Uint32Array(1 << 16);
  #length = 0;

  push(us: number): void {
    if (this.#length === this.#data.length) {
      const bigger = new Uint32Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.#length++] = us > 0 ? Math.round(us) : 0;
  }

  take(): Uint32Array {
    return this.#data.slice(0, this.#length);
  }
}
