// Small load generator shared by the benchmarks: keeps `concurrency` operations in flight
// for `durationMs` (or `count` operations) and reports throughput, latency percentiles and
// the garbage collector's pauses meanwhile (most of the tail latency, when it goes wrong).
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { Histogram } from '../src/metrics/histogram.js';

export interface LoadResult {
  readonly ops: number;
  readonly errors: number;
  readonly seconds: number;
  readonly opsPerSec: number;
  /** Latencies in milliseconds. */
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  /** Share of the run's wall time the main thread spent in GC pauses, in percent. */
  readonly gcPercent: number;
  /** Longest GC pause, in milliseconds. */
  readonly gcMaxMs: number;
}

export interface LoadOptions {
  concurrency: number;
  /** Stop issuing after this many operations… */
  count?: number;
  /** …or after this long. */
  durationMs?: number;
}

/** Runs `op(i)` with i = 0, 1, 2, … keeping `concurrency` in flight. */
export async function runLoad(op: (i: number) => Promise<unknown>, options: LoadOptions): Promise<LoadResult> {
  const histogram = new Histogram();
  const started = performance.now();
  const stopAt = options.durationMs === undefined ? Infinity : started + options.durationMs;
  const count = options.count ?? Infinity;
  let next = 0;
  let errors = 0;
  let firstError: unknown;
  let gcMs = 0;
  let gcMaxMs = 0;
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries() as PerformanceEntry[]) {
      gcMs += entry.duration;
      gcMaxMs = Math.max(gcMaxMs, entry.duration);
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  async function worker(): Promise<void> {
    while (next < count && performance.now() < stopAt) {
      const i = next++;
      const t0 = performance.now();
      try {
        await op(i);
      } catch (error) {
        errors++;
        firstError ??= error;
      }
      histogram.record((performance.now() - t0) * 1000);
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  // Entries are delivered asynchronously: let the last ones in before stopping.
  await new Promise((resolve) => setImmediate(resolve));
  gcObserver.disconnect();
  if (errors > 0) console.error(`  ${errors} operations failed; first:`, firstError);
  return {
    ops: next,
    errors,
    seconds,
    opsPerSec: next / seconds,
    p50: histogram.percentile(50) / 1000,
    p99: histogram.percentile(99) / 1000,
    p999: histogram.percentile(99.9) / 1000,
    gcPercent: (gcMs / 10) / seconds,
    gcMaxMs,
  };
}

export function formatRow(name: string, r: LoadResult): string {
  const n = (x: number, d = 2) => x.toFixed(d).padStart(8);
  return `| ${name.padEnd(34)} | ${Math.round(r.opsPerSec).toString().padStart(8)} | ${n(r.p50)} | ${n(r.p99)} | ${n(r.p999)} | ${String(r.errors).padStart(6)} | ${n(r.gcPercent, 1)} | ${n(r.gcMaxMs)} |`;
}

export const TABLE_HEADER = [
  `| ${'workload'.padEnd(34)} |    ops/s | p50 ms   | p99 ms   | p99.9 ms | errors | GC %     | GCmax ms |`,
  `|${'-'.repeat(36)}|---------:|---------:|---------:|---------:|-------:|---------:|---------:|`,
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
