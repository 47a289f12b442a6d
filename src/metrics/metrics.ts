/**
 * Counters and latency histograms of one member. `metrics()` returns a plain snapshot.
 * @module
 */
import { Histogram } from './histogram.js';

/** Operations whose latency is measured. */
export type OperationName = 'get' | 'put' | 'delete';

/** Latency summary of one operation, in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly errors: number;
  readonly mean: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

/** What `Dynamo.metrics()` returns. */
export interface MetricsSnapshot {
  /** Client operations this member coordinated. */
  readonly operations: Readonly<Record<OperationName, LatencySummary>>;
  /** Monotonic counters: replica reads and writes served, read repairs, siblings seen, … */
  readonly counters: Readonly<Record<string, number>>;
}

/** Mutable metrics of one member. */
export class Metrics {
  readonly #latency: Record<OperationName, Histogram> = {
    get: new Histogram(),
    put: new Histogram(),
    delete: new Histogram(),
  };
  readonly #errors: Record<OperationName, number> = { get: 0, put: 0, delete: 0 };
  readonly #counters = new Map<string, number>();

  /** Records one finished operation; `ms` is its latency. */
  observe(op: OperationName, ms: number, ok: boolean): void {
    // Microseconds in the histogram keep sub-millisecond latencies distinguishable.
    this.#latency[op].record(ms * 1000);
    if (!ok) this.#errors[op]++;
  }

  increment(counter: string, by = 1): void {
    this.#counters.set(counter, (this.#counters.get(counter) ?? 0) + by);
  }

  snapshot(): MetricsSnapshot {
    const summary = (op: OperationName): LatencySummary => {
      const h = this.#latency[op];
      return {
        count: h.count,
        errors: this.#errors[op],
        mean: h.mean / 1000,
        p50: h.percentile(50) / 1000,
        p99: h.percentile(99) / 1000,
        p999: h.percentile(99.9) / 1000,
        max: h.max / 1000,
      };
    };
    return {
      operations: { get: summary('get'), put: summary('put'), delete: summary('delete') },
      counters: Object.fromEntries(this.#counters),
    };
  }
}
