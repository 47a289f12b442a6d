// The floor of `npm run bench:loopback`: one of three processes (bench/loopback.ts forks them as
// it forks members) that do, per put, only what any implementation of this topology must do,
// and nothing of libdynamo. Each keeps its share of the requests in flight; a request is one
// small frame written to each of the two other processes, done when the first of them answers
// (W=2 with the coordinator's own write counted as free). A peer answers every frame at once.
// No storage, no versioning, no encoding beyond a length and an id, next to no garbage: what
// is left is the event loop, system calls (corked per tick, as TcpTransport's) and the kernel
// scheduling three busy processes on the machine's cores. The latency it measures is a bound
// no implementation of this topology can beat here.
//
// Speaks bench/loopback-member.ts's IPC protocol ('ready', then 'load' reports; 'stop').
import { createConnection, createServer, type Socket } from 'node:net';
import { LatencySamples, runLoad } from './harness.js';
import type { MemberCommand, MemberConfig, MemberReport } from './loopback-member.js';

/** Request and reply sizes: about a replicate message of the bench's value and its ack. */
const REQUEST_BYTES = 300;
const REPLY_BYTES = 40;

function send(report: MemberReport): void {
  process.send?.(report);
}

/** A frame: 4-byte little-endian length of what follows, then a 4-byte id, then padding. */
function frame(id: number, size: number): Buffer {
  const bytes = Buffer.alloc(4 + size);
  bytes.writeUInt32LE(size, 0);
  bytes.writeUInt32LE(id, 4);
  return bytes;
}

/**
 * Writes `bytes` to `socket`, corked until the end of the tick as TcpTransport does, so that
 * the frames of one turn of the event loop leave in one system call.
 */
function write(socket: Socket, bytes: Buffer): void {
  if (socket.writableCorked === 0) {
    socket.cork();
    process.nextTick(() => socket.uncork());
  }
  socket.write(bytes);
}

/** Calls `onFrame(id)` for every whole frame that arrives on `socket`. */
function readFrames(socket: Socket, onFrame: (id: number) => void): void {
  let pending: Buffer | undefined;
  socket.on('data', (chunk: Buffer) => {
    let bytes = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
    while (bytes.length >= 8) {
      const size = bytes.readUInt32LE(0);
      if (bytes.length < 4 + size) break;
      onFrame(bytes.readUInt32LE(4));
      bytes = bytes.subarray(4 + size);
    }
    pending = bytes.length === 0 ? undefined : bytes;
  });
}

async function main(): Promise<void> {
  if (process.send === undefined) throw new Error('bench/loopback-floor.ts is forked by bench/loopback.ts, not run by hand');
  const config = JSON.parse(process.argv[2] ?? '') as MemberConfig;
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    readFrames(socket, (id) => write(socket, frame(id, REPLY_BYTES)));
  });
  await new Promise<void>((resolve) => server.listen(config.port, '127.0.0.1', resolve));
  send({ type: 'ready', address: `127.0.0.1:${config.port}`, startMs: 0 });

  let peers: Socket[] | undefined;
  const waiting = new Map<number, () => void>();
  let nextId = 1;
  /** Connects to the two others on first use (all three listen by then). */
  async function connect(): Promise<Socket[]> {
    const others = config.seeds.filter((_, i) => i !== config.index).map((seed) => {
      const socket = createConnection(Number(seed.split(':')[1]), '127.0.0.1');
      socket.setNoDelay(true);
      readFrames(socket, (id) => {
        const done = waiting.get(id);
        if (done === undefined) return; // the slower peer's answer
        waiting.delete(id);
        done();
      });
      return socket;
    });
    await Promise.all(others.map((socket) => new Promise((resolve) => socket.once('connect', resolve))));
    return others;
  }

  async function load(command: Extract<MemberCommand, { cmd: 'load' }>): Promise<void> {
    const sockets = (peers ??= await connect());
    const samples = new LatencySamples();
    const op = (): Promise<void> => {
      const t0 = performance.now();
      const id = nextId++;
      return new Promise<void>((resolve) => {
        waiting.set(id, () => {
          samples.push((performance.now() - t0) * 1000);
          resolve();
        });
        const request = frame(id, REQUEST_BYTES);
        for (const socket of sockets) write(socket, request);
      });
    };
    const result = await runLoad(op, { concurrency: command.concurrency, durationMs: command.durationMs });
    send({
      type: 'load',
      ops: result.ops,
      errors: result.errors,
      seconds: result.seconds,
      latencies: samples.take(),
      gcMs: result.gcPercent * 10 * result.seconds,
      gcMaxMs: result.gcMaxMs,
      majorGcs: result.majorGcs,
    });
  }

  process.on('message', (raw) => {
    const command = raw as MemberCommand;
    if (command.cmd === 'load') {
      load(command).catch((error: unknown) => send({ type: 'error', message: error instanceof Error ? error.stack ?? error.message : String(error) }));
    } else if (command.cmd === 'stop') {
      for (const socket of peers ?? []) socket.destroy();
      process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
}

main().catch((error: unknown) => {
  send({ type: 'error', message: error instanceof Error ? error.stack ?? error.message : String(error) });
  process.exit(1);
});
