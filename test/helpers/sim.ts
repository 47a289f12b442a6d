// A whole cluster, its clients and a nemesis on one ManualClock and one seed: the run is a
// pure function of the seed, so a failure replays exactly from the seed it prints.
import { Dynamo, InMemoryNetwork, ManualClock, MemoryStorage, seededRandom, type Random } from '../../src/index.js';
import { checkSet, type SetCheck } from './set-checker.js';

export interface SimOptions {
  seed: number;
  members?: number;
  clients?: number;
  keys?: number;
  /** Virtual milliseconds of workload under faults. */
  durationMs?: number;
  /** Kill and restart members, not only cut the network. @default true */
  crashes?: boolean;
}

export interface SimResult {
  readonly seed: number;
  readonly check: SetCheck<number>;
  readonly ok: number;
  readonly failed: number;
  /** Share of adds acknowledged while faults were injected. */
  readonly successRate: number;
  /** Everything that happened, for replay comparison. */
  readonly history: string[];
  readonly hintsLeft: number;
}

const OPTIONS = { gossipIntervalMs: 100, hintIntervalMs: 200, timeoutMs: 300 };

/** Advances `clock` until `promise` settles (at most `limitMs` of virtual time). */
export async function drive<T>(clock: ManualClock, promise: Promise<T>, limitMs = 600_000): Promise<T> {
  let settled = false;
  const result = promise.finally(() => (settled = true));
  const end = clock.now() + limitMs;
  while (!settled) {
    if (clock.now() > end) throw new Error(`still pending after ${limitMs} ms of virtual time`);
    await clock.advance(5);
  }
  return result;
}

export async function runSim(options: SimOptions): Promise<SimResult> {
  const { seed } = options;
  const memberCount = options.members ?? 5;
  const duration = options.durationMs ?? 8000;
  const clock = new ManualClock();
  const random = seededRandom(seed);
  const net = new InMemoryNetwork({ clock, random: seededRandom(seed ^ 0x5bd1e995), latencyMs: [0, 3] });
  const ids = Array.from({ length: memberCount }, (_, i) => `m${i + 1}`);
  const storages = new Map(ids.map((id) => [id, new MemoryStorage()]));
  const live = new Map<string, Dynamo>();
  const history: string[] = [];
  const log = (line: string) => history.push(`${clock.now()} ${line}`);
  let generation = 0;
  const make = (id: string) =>
    new Dynamo({ ...OPTIONS, id, transport: net.transport(id), storage: storages.get(id)!, seeds: ids, clock, random: seededRandom(seed + ++generation) });
  const sleep = (ms: number) => new Promise<void>((r) => clock.setTimeout(r, ms));
  const pick = <T>(items: readonly T[], rnd: Random = random): T => items[Math.floor(rnd() * items.length)]!;

  await drive(
    clock,
    Promise.all(
      ids.map(async (id) => {
        const node = make(id);
        await node.start();
        live.set(id, node);
      }),
    ),
  );

  const keys = Array.from({ length: options.keys ?? 3 }, (_, i) => `cart:${i}`);
  const attempts: number[] = [];
  const acked: number[] = [];
  let failed = 0;
  let nextElement = 0;
  const end = clock.now() + duration;

  const client = async (c: number) => {
    const rnd = seededRandom(seed * 31 + c);
    while (clock.now() < end) {
      const node = pick([...live.values()], rnd);
      const key = pick(keys, rnd);
      const element = nextElement++;
      attempts.push(element);
      try {
        await node.update<number[]>(key, (siblings) => [...new Set([...siblings.flat(), element])].sort((a, b) => a - b), {
          timeoutMs: 300,
        });
        acked.push(element);
        log(`ok add ${element} ${key} via ${node.id}`);
      } catch (error) {
        failed++;
        log(`fail add ${element} ${key} via ${node.id}: ${(error as { code?: string }).code}`);
      }
      await sleep(5 + Math.floor(rnd() * 15));
    }
  };

  const crashed = new Set<string>();
  const nemesis = async () => {
    while (clock.now() < end) {
      await sleep(300 + Math.floor(random() * 700));
      const action = pick(options.crashes === false ? ['partition', 'isolate', 'heal'] : ['partition', 'isolate', 'heal', 'crash', 'restart']);
      if (action === 'partition') {
        const shuffled = [...ids].sort(() => random() - 0.5);
        const cut = 1 + Math.floor(random() * (ids.length - 1));
        net.partition(shuffled.slice(0, cut), shuffled.slice(cut));
        log(`nemesis partition ${shuffled.slice(0, cut)} | ${shuffled.slice(cut)}`);
      } else if (action === 'isolate') {
        const id = pick(ids);
        net.isolate(id);
        log(`nemesis isolate ${id}`);
      } else if (action === 'heal') {
        net.heal();
        log('nemesis heal');
      } else if (action === 'crash' && crashed.size < 2) {
        const id = pick([...live.keys()]);
        const node = live.get(id)!;
        live.delete(id);
        crashed.add(id);
        log(`nemesis crash ${id}`);
        await node.stop();
      } else if (action === 'restart' && crashed.size > 0) {
        const id = pick([...crashed]);
        crashed.delete(id);
        const node = make(id);
        log(`nemesis restart ${id}`);
        await node.start();
        live.set(id, node);
      }
    }
  };

  await drive(clock, Promise.all([...Array.from({ length: options.clients ?? 4 }, (_, c) => client(c)), nemesis()]));

  // Recovery: heal, bring every member back, let gossip, hints and repairs finish.
  net.heal();
  log('recovery');
  await drive(
    clock,
    Promise.all(
      [...crashed].map(async (id) => {
        const node = make(id);
        await node.start();
        live.set(id, node);
      }),
    ),
  );
  crashed.clear();
  const everyone = [...live.values()];
  let hintsLeft = Infinity;
  for (let i = 0; i < 60 && hintsLeft > 0; i++) {
    await clock.advance(500);
    hintsLeft = (await drive(clock, Promise.all(everyone.map((n) => n.hintsPending())))).reduce((a, b) => a + b, 0);
  }

  const final = new Set<number>();
  for (const key of keys) {
    const { values } = await drive(clock, everyone[0]!.get<number[]>(key, { r: memberCount >= 3 ? 3 : memberCount }));
    for (const element of values.flat()) final.add(element);
  }
  await drive(clock, Promise.all(everyone.map((n) => n.stop())));
  const check = checkSet(attempts, acked, final);
  return { seed, check, ok: acked.length, failed, successRate: acked.length / Math.max(1, acked.length + failed), history, hintsLeft };
}
