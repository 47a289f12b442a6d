import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics } from '../../src/metrics/metrics.js';
import { formatPrometheus } from '../../src/metrics/prometheus.js';
import { ValidationError } from '../../src/errors.js';
import { startCluster, findKey } from '../helpers/cluster.js';

test('latency summaries are within the histogram precision of the exact percentiles', () => {
  const m = new Metrics();
  // 1000 puts of 1..1000 ms, 10 of them failed.
  for (let i = 1; i <= 1000; i++) m.observe('put', i, i % 100 !== 0);
  m.observeReplica('write', 0.25, true);
  const { operations, replica } = m.snapshot();
  const put = operations.put;
  assert.equal(put.count, 1000);
  assert.equal(put.errors, 10);
  for (const [got, exact] of [[put.p50, 500], [put.p99, 990], [put.p999, 999]] as const) {
    assert.ok(got >= exact && got <= exact * (1 + 1 / 16), `${got} vs ${exact}`);
  }
  assert.ok(Math.abs(put.mean - 500.5) < 0.01);
  assert.equal(put.max, 1000);
  assert.equal(operations.get.count, 0);
  assert.equal(replica.write.count, 1);
  assert.equal(replica.write.p50, 0.25, 'sub-millisecond latencies are kept');
});

test("a cluster's metrics count exactly the operations performed, on both sides", async () => {
  const cluster = await startCluster(3, { gossipIntervalMs: 20 });
  try {
    const [a, b, c] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
    const before = cluster.nodes.map((n) => n.metrics());
    const key = findKey(cluster, () => true, 'metrics');
    const keys = Array.from({ length: 20 }, (_, i) => `${key}:${i}`);
    for (const k of keys) await a.put(k, { n: 1 });
    for (const k of keys.slice(0, 15)) await a.get(k);
    for (const k of keys.slice(0, 5)) {
      const { context } = await a.get(k);
      await a.delete(k, { context });
    }
    await assert.rejects(a.get('x', { r: 9 }), ValidationError);

    const ops = a.metrics().operations;
    assert.equal(ops.put.count - before[0]!.operations.put.count, 20);
    assert.equal(ops.get.count - before[0]!.operations.get.count, 20);
    assert.equal(ops.delete.count - before[0]!.operations.delete.count, 5);
    assert.equal(ops.put.errors + ops.get.errors + ops.delete.errors, 0, 'a refused argument is not a failed operation');
    for (const n of [b, c]) assert.equal(n.metrics().operations.put.count, 0, 'only the member called counts a client op');

    // Each write reaches all three replicas (one of them a's own local write when a owns the
    // key, else a forwarded put): let the writes beyond W land, then count replica writes.
    const writesServed = () => cluster.nodes.reduce((sum, n) => sum + (n.metrics().counters['replica_writes'] ?? 0), 0);
    const localCoordinated = 25; // 20 puts + 5 deletes, each coordinated by one replica
    for (let waited = 0; writesServed() < 25 * 3 - localCoordinated && waited < 5000; waited += 20) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const served = cluster.nodes.map((n) => n.metrics());
    assert.equal(writesServed(), 25 * 3 - localCoordinated, 'every write went to the two other replicas, once');
    for (const s of served) assert.equal(s.replica.write.count, s.counters['replica_writes'] ?? 0);
    const replicaReads = served.reduce((sum, s) => sum + (s.counters['replica_reads'] ?? 0), 0);
    assert.ok(replicaReads >= 20 * 2 && replicaReads <= 20 * 3, `a get reads R..N replicas: ${replicaReads}`);
    assert.ok((a.metrics().counters['gossip_rounds'] ?? 0) > 0);
  } finally {
    await cluster.stop();
  }
});

test('the Prometheus text names every counter and summary, with escaped labels', () => {
  const m = new Metrics();
  m.observe('get', 2, true);
  m.observe('get', 4, false);
  m.increment('read_repairs', 3);
  const text = formatPrometheus(m.snapshot(), { labels: { member: 'a"\\\nb' } });
  const lines = text.trimEnd().split('\n');
  const samples = lines.filter((l) => !l.startsWith('#'));
  for (const line of samples) assert.match(line, /^libdynamo_[a-z_]+(\{[^}]*\})? (NaN|[0-9.e+-]+)$/, line);
  assert.ok(samples.includes('libdynamo_operation_duration_seconds_count{member="a\\"\\\\\\nb",operation="get"} 2'), text);
  assert.ok(samples.includes('libdynamo_operation_errors_total{member="a\\"\\\\\\nb",operation="get"} 1'));
  assert.ok(samples.includes('libdynamo_read_repairs_total{member="a\\"\\\\\\nb"} 3'));
  assert.ok(lines.includes('# TYPE libdynamo_replica_duration_seconds summary'));
  const p50 = samples.find((l) => l.startsWith('libdynamo_operation_duration_seconds{') && l.includes('operation="get"') && l.includes('quantile="0.5"'));
  assert.ok(p50 !== undefined && Number(p50.split(' ')[1]) >= 0.002 && Number(p50.split(' ')[1]) <= 0.002 * (1 + 1 / 16), p50);
  assert.throws(() => formatPrometheus(m.snapshot(), { prefix: 'bad-name' }), ValidationError);
  assert.throws(() => formatPrometheus(m.snapshot(), { labels: { 'bad-label': 'x' } }), ValidationError);
});
