// A Jepsen-style set workload on ORSet values: clients add unique elements and remove
// elements they have just read as present, through random members, while a nemesis splits
// and heals the network. After the final heal and a sync on every member, every key reads
// as one set on every member, no acknowledged add is lost unless a remove that had seen it
// was attempted, and every acknowledged remove took its element out.
//
// Real time, seeded choices: SEED=<n> replays the same choices (not the same timing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ORSet, seededRandom, type Dynamo } from '../../src/index.js';
import { startCluster } from '../helpers/cluster.js';

const SEED = Number(process.env['SEED'] ?? Date.now() % 1_000_000);
const WORKLOAD_MS = Number(process.env['WORKLOAD_MS'] ?? 6000);
const CLIENTS = 4;
const KEYS = ['set:a', 'set:b', 'set:c'];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One set from what a read returned (one value when the get merged, as it should). */
function setOf(values: readonly unknown[]): ORSet<string> {
  let set = ORSet.empty<string>();
  for (const value of values) {
    assert.ok(value instanceof ORSet, `a value that is not an ORSet: ${String(value)}`);
    set = set.merge(value as ORSet<string>);
  }
  return set;
}

test(`ORSet set workload with removes under partitions: no acknowledged add lost, acknowledged removes hold, no siblings (seed ${SEED})`, { timeout: 60_000 }, async () => {
  const random = seededRandom(SEED);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const cluster = await startCluster(5, { gossipIntervalMs: 20, timeoutMs: 400 });
  const history: string[] = [];
  const log = (line: string) => history.push(`${Date.now() % 100_000} ${line}`);
  const replay = () => `(replay the choices with SEED=${SEED})\n${history.slice(-40).join('\n')}`;
  try {
    const added = new Map<string, string>(); // acknowledged add: element → key
    const removeAttempted = new Set<string>();
    const removed = new Map<string, string>(); // acknowledged remove: element → key
    let addsAttempted = 0;
    let removesAttempted = 0;
    let failures = 0;
    let stop = false;

    // A client's actor is stable; its changes build on the last state it wrote to a key
    // too, so a read that missed its own previous write cannot make it reuse a dot.
    const client = async (c: number): Promise<void> => {
      const actor = `client-${c}`;
      const written = new Map<string, ORSet<string>>();
      let seq = 0;
      while (!stop) {
        const via: Dynamo = pick(cluster.nodes);
        const key = pick(KEYS);
        const removing = random() < 0.35;
        try {
          const { values, context } = await via.get<ORSet<string>>(key);
          assert.ok(values.length <= 1, `a get returned ${values.length} siblings of ${key}`);
          const read = setOf(values);
          const base = written.has(key) ? read.merge(written.get(key)!) : read;
          if (removing) {
            const present = read.value();
            if (present.length === 0) continue;
            const element = pick(present);
            removeAttempted.add(element);
            removesAttempted++;
            const next = base.remove(element);
            written.set(key, next);
            await via.put(key, next, { context });
            removed.set(element, key);
            log(`${actor} via ${via.id}: remove ${element} from ${key} ok`);
          } else {
            const element = `${actor}-${++seq}`;
            addsAttempted++;
            const next = base.add(actor, element);
            written.set(key, next); // even if the put fails: it may have reached a replica
            await via.put(key, next, { context });
            added.set(element, key);
            log(`${actor} via ${via.id}: add ${element} to ${key} ok`);
          }
        } catch (error) {
          if (error instanceof assert.AssertionError) throw error;
          failures++;
          log(`${actor} via ${via.id}: ${removing ? 'remove' : 'add'} on ${key} failed: ${(error as Error).message}`);
        }
        await sleep(random() * 10);
      }
    };

    const nemesis = async (): Promise<void> => {
      while (!stop) {
        const shuffled = [...cluster.ids].sort(() => random() - 0.5);
        const choice = random();
        if (choice < 0.3) {
          cluster.net.heal();
          log('nemesis: heal');
        } else {
          const cut = choice < 0.5 ? 1 : 2;
          cluster.net.partition(shuffled.slice(0, cut), shuffled.slice(cut));
          log(`nemesis: partition {${shuffled.slice(0, cut).join(',')}} | {${shuffled.slice(cut).join(',')}}`);
        }
        await sleep(300 + random() * 700);
      }
    };

    const clients = Array.from({ length: CLIENTS }, (_, c) => client(c));
    const faults = nemesis();
    await sleep(WORKLOAD_MS);
    stop = true;
    await Promise.all([...clients, faults]);

    cluster.net.heal();
    log('final heal');
    const drainBy = Date.now() + 15_000;
    while ((await Promise.all(cluster.nodes.map((n) => n.hintsPending()))).some((h) => h > 0)) {
      assert.ok(Date.now() < drainBy, `hints not delivered within 15 s ${replay()}`);
      await sleep(50);
    }
    for (const n of cluster.nodes) await n.sync();

    const finals = new Map<string, Set<string>>();
    for (const key of KEYS) {
      const seen: string[][] = [];
      for (const n of cluster.nodes) {
        const { values } = await n.get<ORSet<string>>(key);
        assert.ok(values.length <= 1, `${n.id} reads ${values.length} values of ${key} ${replay()}`);
        seen.push(setOf(values).value());
      }
      for (const other of seen.slice(1)) assert.deepEqual(other, seen[0], `members disagree on ${key} ${replay()}`);
      finals.set(key, new Set(seen[0]));
    }

    const lost = [...added].filter(([element, key]) => !finals.get(key)!.has(element) && !removeAttempted.has(element));
    const resurrected = [...removed].filter(([element, key]) => finals.get(key)!.has(element));
    const unexpected = KEYS.flatMap((key) => [...finals.get(key)!].filter((element) => !element.startsWith('client-')));
    console.log(
      `seed ${SEED}: adds ${added.size} acked of ${addsAttempted}, removes ${removed.size} acked of ${removesAttempted}, ` +
        `${failures} failed, final sizes ${KEYS.map((k) => finals.get(k)!.size).join('/')}, lost=${lost.length}, resurrected=${resurrected.length}`,
    );
    assert.deepEqual(lost, [], `acknowledged adds lost without a remove that saw them ${replay()}`);
    assert.deepEqual(resurrected, [], `acknowledged removes whose element is present ${replay()}`);
    assert.deepEqual(unexpected, [], `elements nobody added ${replay()}`);
    assert.ok(added.size > 20 && removed.size > 5, `too little acknowledged work to check ${replay()}`);
  } finally {
    await cluster.stop();
  }
});
