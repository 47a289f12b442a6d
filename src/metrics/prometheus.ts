/**
 * A {@link MetricsSnapshot} in the Prometheus text exposition format (version 0.0.4), for a
 * `/metrics` endpoint. Latencies become summaries in seconds (quantiles 0.5, 0.99, 0.999,
 * plus `_sum` and `_count`), errors and counters become `_total` counters.
 * @module
 */
import { ValidationError } from '../errors.js';
import type { LatencySummary, MetricsSnapshot } from './metrics.js';

/** Options of {@link formatPrometheus}. */
export interface PrometheusOptions {
  /**
   * Prefix of every metric name.
   * @default 'libdynamo'
   */
  readonly prefix?: string;
  /**
   * Labels added to every sample, e.g. `{ member: dynamo.id }` when several members share
   * one process or one scrape target.
   * @default {}
   */
  readonly labels?: Readonly<Record<string, string>>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * The text a Prometheus server scrapes.
 *
 * @example
 * ```ts
 * http.createServer((req, res) => {
 *   res.setHeader('content-type', 'text/plain; version=0.0.4');
 *   res.end(formatPrometheus(dynamo.metrics(), { labels: { member: dynamo.id } }));
 * });
 * ```
 */
export function formatPrometheus(snapshot: MetricsSnapshot, options: PrometheusOptions = {}): string {
  const prefix = options.prefix ?? 'libdynamo';
  if (!NAME.test(prefix)) throw new ValidationError(`prefix must be a Prometheus metric name, got ${JSON.stringify(prefix)}`);
  const base = Object.entries(options.labels ?? {});
  for (const [name, value] of base) {
    if (!LABEL.test(name) || name.startsWith('__')) throw new ValidationError(`label name ${JSON.stringify(name)} is not a Prometheus label name`);
    if (typeof value !== 'string') throw new ValidationError(`label ${name} must be a string`);
  }
  const lines: string[] = [];
  const labels = (extra: [string, string][]): string => {
    const all = [...base, ...extra];
    return all.length === 0 ? '' : `{${all.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
  };

  const summaries = (name: string, help: string, byOp: Readonly<Record<string, LatencySummary>>): void => {
    const metric = `${prefix}_${name}_duration_seconds`;
    lines.push(`# HELP ${metric} ${help}`, `# TYPE ${metric} summary`);
    for (const [op, s] of Object.entries(byOp)) {
      for (const [q, ms] of [['0.5', s.p50], ['0.99', s.p99], ['0.999', s.p999]] as const) {
        lines.push(`${metric}${labels([['operation', op], ['quantile', q]])} ${seconds(ms)}`);
      }
      lines.push(`${metric}_sum${labels([['operation', op]])} ${seconds(s.mean * s.count)}`);
      lines.push(`${metric}_count${labels([['operation', op]])} ${s.count}`);
    }
    const errors = `${prefix}_${name}_errors_total`;
    lines.push(`# HELP ${errors} ${help.replace(/\.$/, '')} that failed.`, `# TYPE ${errors} counter`);
    for (const [op, s] of Object.entries(byOp)) lines.push(`${errors}${labels([['operation', op]])} ${s.errors}`);
  };
  summaries('operation', 'Client operations this member coordinated.', snapshot.operations);
  summaries('replica', 'Replica requests this member served.', snapshot.replica);

  for (const [counter, value] of Object.entries(snapshot.counters).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const metric = `${prefix}_${counter.replace(/[^a-zA-Z0-9_]/g, '_')}_total`;
    lines.push(`# TYPE ${metric} counter`, `${metric}${labels([])} ${value}`);
  }
  return lines.join('\n') + '\n';
}

function seconds(ms: number): string {
  return Number.isFinite(ms) ? String(ms / 1000) : 'NaN';
}

/** Backslash, double quote and newline are the characters the format escapes in label values. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
