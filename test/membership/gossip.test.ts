// Membership through the public API: members join one by one through a single seed on an
// InMemoryNetwork driven by a ManualClock, so every run is a pure function of its seed and
// virtual minutes cost milliseconds. Each assertion names its seed; replay one with
// GOSSIP_SEED=<seed> node scripts/run-tests.mjs gossip.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Dynamo, DEFAULTS, InMemoryNetwork, ManualClock, seededRandom, type MemberInfo } from '../../src/index.js';

const LATENCY_MS: readonly [number, number] = [1, 5];
const KEYS = ['cart:alice', 'cart:bob', 'session:42', 'user:7', 'order:2007'];
const fromEnv = process.env['GOSSIP_SEED'];
const SEEDS = fromEnv === undefined ? [1, 2, 3, Math.floor(Math.random() * 2 ** 31)] : [Number(fromEnv)];

/** Advances `clock` in small steps until `promise` settles; fails after `limitMs` of virtual time. */
async function settleWith<T>(clock: ManualClock, promise: Promise<T>, limitMs = 30_000): Promise<T> {
  let done = false;
  const tracked = promise.finally(() => {
    done = true;
  });
  tracked.catch(() => {});
  for (let waited = 0; !done; waited++) {
    if (waited >= limitMs) throw new Error(`still pending after ${limitMs} ms of virtual time`);
    await clock.advance(1);
  }
  return tracked;
}

interface LivenessEvent {
  readonly at: number;
  readonly observer: string;
  readonly subject: string;
}

interface Cluster {
  readonly seed: number;
  readonly clock: ManualClock;
  readonly net: InMemoryNetwork;
  readonly members: Dynamo[];
  readonly downs: LivenessEvent[];
  readonly ups: LivenessEvent[];
  /** The last ring checksum each member announced. */
  readonly checksums: Map<string, string>;
  stop(): Promise<void>;
}

/** n members m1…mn, each started with `seeds: ['m1']` only once the one before it has started. */
async function joinOneByOne(n: number, seed: number): Promise<Cluster> {
  const clock = new ManualClock();
  const net = new InMemoryNetwork({ clock, seed, latencyMs: LATENCY_MS });
  const master = seededRandom(seed);
  const cluster: Cluster = {
    seed,
    clock,
    net,
    members: [],
    downs: [],
    ups: [],
    checksums: new Map(),
    async stop() {
      await settleWith(clock, Promise.all(cluster.members.map((m) => m.stop())));
    },
  };
  for (let i = 1; i <= n; i++) {
    const id = `m${i}`;
    const member = new Dynamo({
      id,
      transport: net.transport(id),
      seeds: ['m1'],
      clock,
      // Each member its own stream, all derived from the one seed.
      random: seededRandom(Math.floor(master() * 2 ** 32)),
    });
    member.on('member:down', (m: MemberInfo) => cluster.downs.push({ at: clock.now(), observer: id, subject: m.id }));
    member.on('member:up', (m: MemberInfo) => cluster.ups.push({ at: clock.now(), observer: id, subject: m.id }));
    member.on('ring:changed', (e) => cluster.checksums.set(id, e.checksum));
    cluster.members.push(member);
    try {
      await settleWith(clock, member.start());
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }
  return cluster;
}

function converged(members: readonly Dynamo[]): boolean {
  const ids = members.map((m) => m.id).sort().join(',');
  const lists = KEYS.map((k) => members[0]!.preferenceList(k).join(','));
  return members.every(
    (m) =>
      m.members().map((x) => x.id).sort().join(',') === ids &&
      KEYS.every((k, i) => m.preferenceList(k).join(',') === lists[i]),
  );
}

/** Gossip rounds (of gossipIntervalMs each) until `converged`, or `limit` + 1 if never. */
async function roundsToConverge(c: Cluster, limit: number): Promise<number> {
  for (let rounds = 0; rounds <= limit; rounds++) {
    if (converged(c.members)) return rounds;
    await c.clock.advance(DEFAULTS.gossipIntervalMs);
  }
  return limit + 1;
}

function describeEvents(events: readonly LivenessEvent[]): string {
  return events.map((e) => `${e.at.toFixed(0)}ms ${e.observer}→${e.subject}`).join(', ');
}

describe('gossip: 20 members joining one by one through one seed', () => {
  const n = 20;
  const bound = 2 * Math.log2(n) + 4; // 12.6

  for (const seed of SEEDS) {
    test(`every member lists all 20 and agrees on preference lists within 2·log2(n)+4 rounds (seed ${seed})`, async () => {
      const c = await joinOneByOne(n, seed);
      try {
        // Joining is sequential: the last member knows everyone, the seed too, the rest lag.
        const last = c.members[n - 1]!;
        assert.equal(last.members().length, n, `seed ${seed}: the last joiner learned the whole table from the seed`);
        assert.equal(c.members[0]!.members().length, n, `seed ${seed}: the seed heard of every joiner`);

        const rounds = await roundsToConverge(c, 50);
        assert.ok(rounds <= bound, `seed ${seed}: converged after ${rounds} rounds, the bound is ${bound.toFixed(1)}`);

        for (const m of c.members) {
          assert.equal(m.members().length, n, `seed ${seed}: ${m.id} lists every member`);
          for (const key of KEYS) {
            const list = m.preferenceList(key);
            assert.equal(new Set(list).size, DEFAULTS.n, `seed ${seed}: ${m.id} has N distinct owners of ${key}`);
          }
        }
        // The ring:changed events agree too: everyone announced the same final ring.
        const sums = new Set(c.members.map((m) => c.checksums.get(m.id)));
        assert.equal(sums.size, 1, `seed ${seed}: ring checksums ${[...sums].join(', ')}`);
      } finally {
        await c.stop();
      }
    });
  }
});

/** Detection within this long of a failure, with the default gossipIntervalMs and phiThreshold. */
const DETECT_MS = 5000;
/** How long a healthy cluster runs before a failure is injected, so every window has samples. */
const WARM_UP_MS = 10_000;

/**
 * Fails one member (not the seed) of a converged cluster and runs until every other member
 * has reported it down (or 4 · DETECT_MS passed), so a message can say how late they were.
 */
async function detect(c: Cluster, fail: (victim: Dynamo) => Promise<void> | void) {
  await c.clock.advance(WARM_UP_MS);
  const victim = c.members[1 + (c.seed % (c.members.length - 1))]!;
  const others = c.members.filter((m) => m !== victim);
  const failedAt = c.clock.now();
  await fail(victim);
  const firstDown = new Map<string, number>();
  while (firstDown.size < others.length && c.clock.now() - failedAt < 4 * DETECT_MS) {
    await c.clock.advance(50);
    for (const e of c.downs) {
      if (e.subject === victim.id && e.at >= failedAt && !firstDown.has(e.observer)) firstDown.set(e.observer, e.at - failedAt);
    }
  }
  const late = others
    .filter((m) => (firstDown.get(m.id) ?? Infinity) > DETECT_MS)
    .map((m) => `${m.id} (${firstDown.get(m.id)?.toFixed(0) ?? 'never'})`);
  // Once down, it stays down while it is gone: no member:up, and members() says down.
  const flapped = c.ups.filter((e) => e.subject === victim.id && e.at >= failedAt);
  const notDownNow = others.filter((m) => m.members().find((x) => x.id === victim.id)?.status !== 'down').map((m) => m.id);
  const times = [...firstDown.values()].sort((a, b) => a - b);
  const summary = `victim ${victim.id}, reported down after ${times.map((t) => t.toFixed(0)).join(', ')} ms`;
  return { victim, others, late, flapped, notDownNow, summary };
}

for (const n of [5, 20]) {
  describe(`failure detection in a ${n}-member cluster (default settings)`, () => {
    for (const seed of SEEDS) {
      test(`a stopped member is reported down by every other member within ${DETECT_MS / 1000} s (seed ${seed})`, async () => {
        const c = await joinOneByOne(n, seed);
        try {
          await roundsToConverge(c, 50);
          const { late, flapped, notDownNow, summary } = await detect(c, (victim) => settleWith(c.clock, victim.stop()));
          assert.deepEqual(late, [], `seed ${seed}: reported later than ${DETECT_MS} ms (ms): ${late.join(', ')}; ${summary}`);
          assert.deepEqual(flapped, [], `seed ${seed}: member:up for a stopped member: ${describeEvents(flapped)}`);
          assert.deepEqual(notDownNow, [], `seed ${seed}: ${notDownNow.join(', ')} do not list it as down; ${summary}`);
        } finally {
          await c.stop();
        }
      });

      test(`an isolated member is reported down within ${DETECT_MS / 1000} s, and up again after heal (seed ${seed})`, async () => {
        const c = await joinOneByOne(n, seed);
        try {
          await roundsToConverge(c, 50);
          const { victim, others, late, flapped, notDownNow, summary } = await detect(c, (victim) => c.net.isolate(victim.id));
          assert.deepEqual(late, [], `seed ${seed}: reported later than ${DETECT_MS} ms (ms): ${late.join(', ')}; ${summary}`);
          assert.deepEqual(flapped, [], `seed ${seed}: member:up while still isolated: ${describeEvents(flapped)}`);
          assert.deepEqual(notDownNow, [], `seed ${seed}: ${notDownNow.join(', ')} do not list it as down; ${summary}`);

          c.net.heal();
          const healedAt = c.clock.now();
          while (c.clock.now() - healedAt < DETECT_MS) await c.clock.advance(50);
          const backUp = new Set(c.ups.filter((e) => e.subject === victim.id && e.at >= healedAt).map((e) => e.observer));
          const missed = others.filter((m) => !backUp.has(m.id)).map((m) => m.id);
          assert.deepEqual(missed, [], `seed ${seed}: ${missed.join(', ')} emitted no member:up for ${victim.id} within ${DETECT_MS} ms of heal`);
          for (const m of c.members) {
            const notUp = m.members().filter((x) => x.status !== 'up').map((x) => x.id);
            assert.deepEqual(notUp, [], `seed ${seed}: ${m.id} still lists ${notUp.join(', ')} as not up ${DETECT_MS} ms after heal`);
          }
        } finally {
          await c.stop();
        }
      });
    }
  });
}

// Cheap (≈ 0.2 s each for 5 members), so more seeds: a false suspicion is a rare event.
const HEALTHY_SEEDS = fromEnv === undefined ? [...Array.from({ length: 10 }, (_, i) => i + 1), SEEDS[3]!] : SEEDS;

for (const [n, seeds] of [
  [5, HEALTHY_SEEDS],
  [20, SEEDS],
] as const) {
  describe(`no false suspicion in a healthy ${n}-member cluster`, () => {
    for (const seed of seeds) {
      test(`no member:down in 60 s of virtual time, joins included (seed ${seed})`, async () => {
        const c = await joinOneByOne(n, seed);
        try {
          for (let t = 0; t < 60_000; t += 1000) await c.clock.advance(1000);
          assert.equal(c.downs.length, 0, `seed ${seed}: false member:down events: ${describeEvents(c.downs)}`);
          for (const m of c.members) {
            const notUp = m.members().filter((x) => x.status !== 'up').map((x) => x.id);
            assert.deepEqual(notUp, [], `seed ${seed}: ${m.id} sees ${notUp.join(', ')} as not up`);
          }
        } finally {
          await c.stop();
        }
      });
    }
  });
}
