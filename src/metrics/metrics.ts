/**
 * Counters and latency histograms of one member. `metrics()` returns a plain snapshot.
 * @module
 */
import { Histogram } from './histogram.js';

/** Client operations whose latency is measured where they are coordinated. */
export type OperationName = 'get' | 'put' | 'delete';

/** Requests a member serves as a replica for other members' coordinators. */
export type ReplicaOperationName = 'read' | 'write';

/** Latency summary of one operation, in milliseconds. */
export interface LatencySummary {
  /** Operations this member finished, failed ones included. */
  readonly count: number;
  /** How many of those failed. */
  readonly errors: number;
  /** Mean latency, in milliseconds (microsecond resolution); 0 when `count` is 0. */
  readonly mean: number;
  /** Median latency, in milliseconds, rounded up to its histogram bucket (at most about 6.25% high); 0 when `count` is 0. */
  readonly p50: number;
  /** 99th-percentile latency, in milliseconds, within 6.25% like `p50`; 0 when `count` is 0. */
  readonly p99: number;
  /** 99.9th-percentile latency, in milliseconds, within 6.25% like `p50`; 0 when `count` is 0. */
  readonly p999: number;
  /** Largest latency seen, in milliseconds (microsecond resolution); 0 when `count` is 0. */
  readonly max: number;
}

/** What `Dynamo.metrics()` returns. */
export interface MetricsSnapshot {
  /** Client operations this member coordinated (the coordinator side). */
  readonly operations: Readonly<Record<OperationName, LatencySummary>>;
  /** Replica reads and writes this member served for coordinators (the replica side). */
  readonly replica: Readonly<Record<ReplicaOperationName, LatencySummary>>;
  /**
   * Monotonic counters, each present once it counted something: `replica_reads`,
   * `replica_writes`, `sloppy_fallbacks` (targets that were stand-ins), `hints_stored`,
   * `hints_delivered`, `hints_dropped`, `read_repairs`, `siblings_seen`,
   * `anti_entropy_keys_moved`, `gossip_rounds`, `members_suspected`, `tombstones_collected`.
   */
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
  readonly #replicaLatency: Record<ReplicaOperationName, Histogram> = { read: new Histogram(), write: new Histogram() };
  readonly #replicaErrors: Record<ReplicaOperationName, number> = { read: 0, write: 0 };
  readonly #counters = new Map<string, number>();

  /** Records one finished operation; `ms` is its latency. */
  observe(op: OperationName, ms: number, ok: boolean): void {
    // Microseconds in the histogram keep sub-millisecond latencies distinguishable.
    this.#latency[op].record(ms * 1000);
    if (!ok) this.#errors[op]++;
  }

  /** Records one replica request served; `ms` is how long serving it took. */
  observeReplica(op: ReplicaOperationName, ms: number, ok: boolean): void {
    this.#replicaLatency[op].record(ms * 1000);
    if (!ok) this.#replicaErrors[op]++;
  }

  increment(counter: string, by = 1): void {
    this.#counters.set(counter, (this.#counters.get(counter) ?? 0) + by);
  }

  snapshot(): MetricsSnapshot {
    const summary = (h: Histogram, errors: number): LatencySummary => {
      return {
        count: h.count,
        errors,
        mean: h.mean / 1000,
        p50: h.percentile(50) / 1000,
        p99: h.percentile(99) / 1000,
        p999: h.percentile(99.9) / 1000,
        max: h.max / 1000,
      };
    };
    return {
      operations: {
        get: summary(this.#latency.get, this.#errors.get),
        put: summary(this.#latency.put, this.#errors.put),
        delete: summary(this.#latency.delete, this.#errors.delete),
      },
      replica: {
        read: summary(this.#replicaLatency.read, this.#replicaErrors.read),
        write: summary(this.#replicaLatency.write, this.#replicaErrors.write),
      },
      counters: Object.fromEntries(this.#counters),
    };
  }
}
