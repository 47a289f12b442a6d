// Anti-entropy figures: the 100k-key / 10-difference exchange (bytes and time), and how
// fast a wiped replica of 100k keys is rebuilt by anti-entropy alone.
// `node --import tsx bench/anti-entropy.ts [keys]`
import { Dynamo, InMemoryNetwork, MemoryStorage } from '../src/index.js';

const KEYS = Number(process.argv[2] ?? 100_000);
const QUIET = { gossipIntervalMs: 3_600_000, antiEntropyIntervalMs: 3_600_000, timeoutMs: 10_000, readRepair: false };

const net = new InMemoryNetwork();
const ids = ['a', 'b', 'c'];
const nodes = ids.map((id) => new Dynamo({ ...QUIET, id, transport: net.transport(id), storage: new MemoryStorage(), seeds: ids }));
await Promise.all(nodes.map((n) => n.start()));
const [a, b] = nodes as [Dynamo, Dynamo, Dynamo];

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

await b.stop();
const wiped = new Dynamo({ ...QUIET, id: 'b', transport: net.transport('b'), storage: new MemoryStorage(), seeds: ids });
await wiped.start();
started = performance.now();
const restore = await wiped.sync();
const seconds = (performance.now() - started) / 1000;
console.log(`wiped replica rebuilt by anti-entropy: ${restore.keysReceived} keys in ${seconds.toFixed(2)} s = ${Math.round(restore.keysReceived / seconds)} keys/s`);
await Promise.all([a.stop(), wiped.stop(), nodes[2]!.stop()]);
