// One member of `npm run bench:loopback` (bench/loopback.ts forks three of these): a Dynamo on
// TcpTransport over loopback that also generates load against itself when the parent asks,
// and reports every latency it saw so that the parent can merge the three processes' samples
// into one histogram. Talks to the parent over the fork IPC channel only.
//
// argv[2]: JSON MemberConfig. Runs the library as the parent was built (bench/build.ts).
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { benchKey, LatencySamples, runLoad } from './harness.js';

type Library = typeof import('../src/index.js');

export interface MemberConfig {
  readonly index: number;
  readonly port: number;
  /** `host:port` of every member, this one included. */
  readonly seeds: readonly string[];
  readonly storage: 'memory' | 'level';
  /** LevelStorage directory (storage 'level'). */
  readonly dir?: string;
  /** gossipIntervalMs for the experiment that separates gossip from idle connections. */
  readonly gossipIntervalMs?: number;
}

/** Parent → member. */
export type MemberCommand =
  | {
      readonly cmd: 'load';
      readonly op: 'put' | 'get';
      readonly concurrency: number;
      readonly durationMs: number;
      /** Keys written are `prefix`, `-`, the member's index, `-` and then `i`, through `benchKey`. */
      readonly prefix: string;
      /** For gets: how many keys each member wrote under `prefix`; reads spread over all of them. */
      readonly written?: readonly number[];
    }
  | { readonly cmd: 'idle'; readonly ms: number }
  | { readonly cmd: 'stop' };

/** Member → parent. */
export type MemberReport =
  | { readonly type: 'ready'; readonly address: string; readonly startMs: number }
  | {
      readonly type: 'load';
      readonly ops: number;
      readonly errors: number;
      readonly seconds: number;
      /** One latency per operation, microseconds. */
      readonly latencies: Uint32Array;
      readonly gcMs: number;
      readonly gcMaxMs: number;
      readonly majorGcs: number;
      readonly firstError?: string;
    }
  | { readonly type: 'idle'; readonly userUs: number; readonly systemUs: number; readonly ms: number; readonly connections: number }
  | { readonly type: 'error'; readonly message: string };

/** TCP connections of this process in state ESTABLISHED (Linux /proc); -1 where unknown. */
function establishedTcpConnections(): number {
  try {
    const inodes = new Set<string>();
    for (const fd of readdirSync('/proc/self/fd')) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
        if (match !== null) inodes.add(match[1]!);
      } catch {
        // Closed meanwhile.
      }
    }
    let count = 0;
    for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
      for (const line of readFileSync(table, 'latin1').split('\n').slice(1)) {
        const fields = line.trim().split(/\s+/);
        if (fields[3] === '01' && inodes.has(fields[9]!)) count++;
      }
    }
    return count;
  } catch {
    return -1;
  }
}

function send(report: MemberReport): void {
  process.send?.(report);
}

async function loadLibrary(): Promise<Library> {
  return import('../src/index.js');
}

async function main(): Promise<void> {
  if (process.send === undefined) throw new Error('bench/loopback-member.ts is forked by bench/loopback.ts, not run by hand');
  const config = JSON.parse(process.argv[2] ?? '') as MemberConfig;
  const { Dynamo, LevelStorage, MemoryStorage, TcpTransport } = await loadLibrary();
  const started = performance.now();
  const transport = new TcpTransport({ host: '127.0.0.1', port: config.port });
  const storage = config.storage === 'level' ? new LevelStorage(config.dir!) : new MemoryStorage();
  const node = new Dynamo({
    transport,
    storage,
    seeds: config.seeds,
    n: 3,
    r: 2,
    w: 2,
    ...(config.gossipIntervalMs === undefined ? {} : { gossipIntervalMs: config.gossipIntervalMs }),
  });
  await node.start();
  // Ready once this member sees all three up.
  while (!(node.members().length === config.seeds.length && node.members().every((m) => m.status === 'up'))) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  send({ type: 'ready', address: transport.address, startMs: performance.now() - started });

  // Same value as bench/cluster.ts: ~130 bytes encoded.
  const value = { sku: 'B00005N5PF', qty: 1, note: randomBytes(48).toString('hex') };
  let stopping = false;

  async function load(command: Extract<MemberCommand, { cmd: 'load' }>): Promise<void> {
    const samples = new LatencySamples();
    const { index } = config;
    let op: (i: number) => Promise<unknown>;
    if (command.op === 'put') {
      op = (i) => node.put(benchKey(`${command.prefix}-${index}-`, i), value);
    } else {
      const written = command.written ?? [];
      const total = written.reduce((a, b) => a + b, 0);
      if (total === 0) throw new Error('gets need keys written first');
      const starts: number[] = [];
      written.reduce((sum, count) => (starts.push(sum), sum + count), 0);
      op = (i) => {
        // Spread over every key any member wrote, each member from its own offset.
        let j = ((i * written.length + index) * 7919) % total;
        let m = written.length - 1;
        while (starts[m]! > j) m--;
        j -= starts[m]!;
        return node.get(benchKey(`${command.prefix}-${m}-`, j));
      };
    }
    const timed = async (i: number): Promise<void> => {
      const t0 = performance.now();
      try {
        await op(i);
      } finally {
        samples.push((performance.now() - t0) * 1000);
      }
    };
    let firstError: string | undefined;
    const originalError = console.error;
    // runLoad prints the first error itself; keep it for the parent's report instead.
    console.error = (...args: unknown[]) => {
      firstError ??= args.map((a) => (a instanceof Error ? `${a.name}: ${a.message}` : String(a))).join(' ');
    };
    try {
      const result = await runLoad(timed, { concurrency: command.concurrency, durationMs: command.durationMs });
      const latencies = samples.take();
      send({
        type: 'load',
        ops: result.ops,
        errors: result.errors,
        seconds: result.seconds,
        latencies,
        gcMs: (result.gcPercent * 10) * result.seconds,
        gcMaxMs: result.gcMaxMs,
        majorGcs: result.majorGcs,
        ...(firstError === undefined ? {} : { firstError }),
      });
    } finally {
      console.error = originalError;
    }
  }

  async function idle(ms: number): Promise<void> {
    // Collect the workloads' garbage first, so that the spell measures the member, not V8
    // shrinking the heap the load left behind (the parent runs with --expose-gc; forks inherit it).
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc !== undefined) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const before = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, ms));
    const used = process.cpuUsage(before);
    const connections = establishedTcpConnections();
    send({ type: 'idle', userUs: used.user, systemUs: used.system, ms: performance.now() - t0, connections });
  }

  async function stop(): Promise<void> {
    if (stopping) return;
    stopping = true;
    await node.stop();
    process.exit(0);
  }

  process.on('message', (raw) => {
    const command = raw as MemberCommand;
    const run = command.cmd === 'load' ? load(command) : command.cmd === 'idle' ? idle(command.ms) : stop();
    run.catch((error: unknown) => send({ type: 'error', message: error instanceof Error ? error.stack ?? error.message : String(error) }));
  });
  // The parent went away (killed, crashed): do not linger.
  process.on('disconnect', () => void stop().catch(() => process.exit(1)));
}

main().catch((error: unknown) => {
  send({ type: 'error', message: error instanceof Error ? error.stack ?? error.message : String(error) });
  process.exit(1);
});
