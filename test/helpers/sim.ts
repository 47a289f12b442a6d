// A whole cluster, its clients and a nemesis on one ManualClock and one seed: the run is a
// pure function of the seed, so a failure replays exactly from the seed it prints.
import { Dynamo, InMemoryNetwork, ManualClock, MemoryStorage, seededRandom, type IterateOptions, type Random, type Storage, type StorageOp } from '../../src/index.js';
import { readNow, syncAccessOf, type ReadNow } from '../../src/storage/storage.js';
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
  /** Also join new members and make members leave; then check replicas converge. @default false */
  membership?: boolean;
  /**
   * Members store through the asynchronous Storage interface, each call finishing after
   * 0–2 virtual ms, as LevelStorage's do on the thread pool: the replica store takes its
   * locked path and a coordinator replicates while its own write is in flight. `'writes'`:
   * only writes take time, and the replica store reads under its lock at once, as it does
   * from LevelStorage (`inlineReads`). @default false
   */
  asyncStorage?: boolean | 'writes';
}

/**
 * A MemoryStorage reached only through its asynchronous interface, every `get` and `batch`
 * taking a little virtual time; with `readsNow`, a replica's read under its key lock is
 * served at once instead, from what is written so far, as LevelStorage's `inlineReads`.
 */
class SlowStorage implements Storage {
  readonly #inner = new MemoryStorage();
  readonly #clock: ManualClock;
  readonly #random: Random;
  readonly #readsNow: boolean;
  readonly supports = this.#inner.supports;

  constructor(clock: ManualClock, random: Random, readsNow: boolean) {
    this.#clock = clock;
    this.#random = random;
    this.#readsNow = readsNow;
  }

  #pause(): Promise<void> {
    return new Promise((resolve) => this.#clock.setTimeout(resolve, Math.floor(this.#random() * 3)));
  }

  open(): Promise<void> {
    return this.#inner.open();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  async get(space: string, key: Uint8Array): Promise<Uint8Array | undefined> {
    await this.#pause();
    return this.#inner.get(space, key);
  }

  getMany(space: string, keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    return this.#inner.getMany(space, keys);
  }

  async batch(ops: readonly StorageOp[]): Promise<void> {
    await this.#pause();
    return this.#inner.batch(ops);
  }

  iterate(space: string, options?: IterateOptions): AsyncIterable<[Uint8Array, Uint8Array]> {
    return this.#inner.iterate(space, options);
  }

  [readNow](): ReadNow | undefined {
    const sync = syncAccessOf(this.#inner);
    return this.#readsNow && sync !== undefined ? (space, key) => sync.get(space, key) : undefined;
  }
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
  /** With `membership`: keys that still differed between replicas after a final sync. */
  readonly diverged: number;
}

const OPTIONS = { gossipIntervalMs: 100, hintIntervalMs: 200, timeoutMs: 300, antiEntropyIntervalMs: 1000, tombstoneGraceMs: 2000 };

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
  // Everyone who may ever join: seeds list them all, as an operator's config would.
  const everyId = options.membership === true ? [...ids, 'm8', 'm9'] : ids;
  const storageRandom = seededRandom(seed ^ 0x27d4eb2f);
  const storages = new Map(everyId.map((id) => [id, options.asyncStorage === undefined || options.asyncStorage === false ? new MemoryStorage() : new SlowStorage(clock, storageRandom, options.asyncStorage === 'writes')]));
  const spare = everyId.filter((id) => !ids.includes(id));
  const gone = new Set<string>();
  const live = new Map<string, Dynamo>();
  const history: string[] = [];
  const log = (line: string) => history.push(`${clock.now()} ${line}`);
  let generation = 0;
  const make = (id: string) =>
    new Dynamo({ ...OPTIONS, id, transport: net.transport(id), storage: storages.get(id)!, seeds: everyId, clock, random: seededRandom(seed + ++generation) });
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
      if (options.membership === true && rnd() < 0.2) {
        // Scratch keys, written and deleted, exercise tombstones and their collection.
        const node = pick([...live.values()], rnd);
        const key = `scratch:${Math.floor(rnd() * 5)}`;
        try {
          const read = await node.get(key, { timeoutMs: 300 });
          if (read.values.length > 0 && rnd() < 0.5) await node.delete(key, { context: read.context, timeoutMs: 300 });
          else await node.put(key, clock.now(), { context: read.context, timeoutMs: 300 });
        } catch {
          // Faults make some fail; nothing is checked of scratch keys but convergence.
        }
        await sleep(5 + Math.floor(rnd() * 15));
        continue;
      }
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
      const actions = options.crashes === false ? ['partition', 'isolate', 'heal'] : ['partition', 'isolate', 'heal', 'crash', 'restart'];
      if (options.membership === true) actions.push('join', 'leave');
      const action = pick(actions);
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
      } else if (action === 'join' && spare.length > 0) {
        const id = spare.shift()!;
        ids.push(id);
        const node = make(id);
        log(`nemesis join ${id}`);
        await node.start();
        live.set(id, node);
      } else if (action === 'leave' && live.size + crashed.size > 3 && crashed.size === 0) {
        const id = pick([...live.keys()]);
        const node = live.get(id)!;
        net.heal(); // a leave needs every owner reachable to finish
        log(`nemesis leave ${id}`);
        try {
          await node.leave(5000);
          live.delete(id);
          gone.add(id);
          log(`left ${id}`);
        } catch (error) {
          log(`leave ${id} did not finish: ${(error as { code?: string }).code}`);
        }
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

  let diverged = 0;
  if (options.membership === true) {
    // Two full rounds: the first repairs, the second must find nothing left to repair.
    for (const node of everyone) await drive(clock, node.sync());
    for (const node of everyone) diverged += (await drive(clock, node.sync())).keysDiffering;
  }

  const final = new Set<number>();
  for (const key of keys) {
    const { values } = await drive(clock, everyone[0]!.get<number[]>(key, { r: memberCount >= 3 ? 3 : memberCount }));
    for (const element of values.flat()) final.add(element);
  }
  await drive(clock, Promise.all(everyone.map((n) => n.stop())));
  const check = checkSet(attempts, acked, final);
  void gone;
  return { seed, check, ok: acked.length, failed, successRate: acked.length / Math.max(1, acked.length + failed), history, hintsLeft, diverged };
}
