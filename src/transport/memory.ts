/**
 * An in-process network with fault injection: latency, message loss, partitions.
 *
 * Every message is encoded with {@link encodeFrame} and decoded with {@link decodeFrame} on
 * arrival, exactly as over TCP, so a test on this network proves serialisation too. Faults
 * behave as on a real network: a message that cannot pass is lost without a word and the
 * requester times out; only a request to an address where nobody listens is refused at once
 * (`UNREACHABLE`, like ECONNREFUSED). All timers and random draws go through the injected
 * {@link Clock} and {@link Random}, so a cluster on a `ManualClock` with a seed replays
 * exactly.
 * @module
 */
import { DynamoError, TimeoutError, ValidationError } from '../errors.js';
import { decodeFrame, encodeFrame, fromWireError, toWireError, type Frame } from '../codec/wire.js';
import { systemClock, type Clock, type TimerHandle } from '../time/clock.js';
import { seededRandom, type Random } from '../time/random.js';
import type { Message, RequestHandler, RequestOptions, Transport } from './transport.js';
import { PendingTable } from './pending-table.js';
import { requestTimeoutMs } from './request-options.js';

/** Options of {@link InMemoryNetwork}. */
export interface InMemoryNetworkOptions {
  /**
   * One-way delay of each message, drawn uniformly from `[min, max]` milliseconds, so a
   * request-reply round trip takes two draws. Messages may overtake each other, as
   * datagrams do: callers must not rely on order.
   * @default [0, 0]
   */
  latencyMs?: readonly [min: number, max: number];
  /**
   * Probability in [0, 1] that any one message (request or reply) is silently lost.
   * @default 0
   */
  dropRate?: number;
  /**
   * Seed of the default random source; the same seed and schedule give the same drops and
   * delays. Ignored when `random` is given.
   * @default a random 32-bit integer, readable afterwards as {@link InMemoryNetwork.seed}
   */
  seed?: number;
  /**
   * Source of time and timers: a `ManualClock` makes a run deterministic.
   * @default systemClock
   */
  clock?: Clock;
  /**
   * Source of the drop and latency draws.
   * @default seededRandom(seed)
   */
  random?: Random;
}

/** Traffic counters of an {@link InMemoryNetwork}. */
export interface NetworkStats {
  /** Frames handed to the network (requests and responses), lost ones included. */
  readonly messages: number;
  /** Encoded size of those frames. */
  readonly bytes: number;
  /** Frames lost: cut off by a partition or isolation, or drawn by `dropRate`. */
  readonly dropped: number;
}

/** The transport an {@link InMemoryNetwork} hands out. */
export interface InMemoryTransport extends Transport {
  /** Requests sent and not yet answered, timed out or rejected; zero when idle. */
  readonly pendingRequests: number;
}

/**
 * An in-process network: `transport(address)` hands out one {@link Transport} per address,
 * and the fault controls (`partition`, `isolate`, `heal`, `dropRate`, `latencyMs`) act on
 * all messages between them.
 *
 * @example
 * ```ts
 * const net = new InMemoryNetwork({ latencyMs: [1, 5], seed: 42 });
 * const a = net.transport('a');
 * const b = net.transport('b');
 * await b.listen(async (message) => ({ type: 'pong' }));
 * await a.request('b', { type: 'ping' }, { timeoutMs: 100 }); // { type: 'pong' }
 * net.partition(['a'], ['b']);                                 // now it times out
 * ```
 */
export class InMemoryNetwork {
  /** The seed of the default random source; undefined when `random` was injected. */
  readonly seed: number | undefined;

  readonly #clock: Clock;
  readonly #random: Random;
  readonly #minLatency: number;
  readonly #latencySpread: number;
  readonly #dropRate: number;
  /** Live transports by address; a closed one leaves so the address can be taken again. */
  readonly #transports = new Map<string, MemoryTransport>();
  /** Partition group of each address; undefined while there is no partition. */
  #groups: Map<string, number> | undefined;
  readonly #isolated = new Set<string>();
  #messages = 0;
  #bytes = 0;
  #dropped = 0;

  /** What a transport may ask of its network; kept off the public surface. */
  readonly #link: NetworkLink = {
    send: (from, to, bytes, arrive) => this.#send(from, to, bytes, arrive),
    listener: (address) => {
      const transport = this.#transports.get(address);
      return transport?.listening === true ? transport : undefined;
    },
    refuse: (notify) => this.#after(this.#drawLatency(), notify),
    detach: (transport) => {
      if (this.#transports.get(transport.address) === transport) this.#transports.delete(transport.address);
    },
  };

  /** Zero-latency deliveries waiting for the next check phase, in send order. */
  #ready: (() => void)[] = [];
  // The callbacks are this module's own and never throw, so none is left behind.
  readonly #flush = (): void => {
    const ready = this.#ready;
    this.#ready = [];
    for (const fn of ready) fn();
  };

  constructor(options: InMemoryNetworkOptions = {}) {
    const { latencyMs = [0, 0], dropRate = 0, seed, clock = systemClock, random } = options;
    if (!Array.isArray(latencyMs) || latencyMs.length !== 2) {
      throw new ValidationError('latencyMs must be a [min, max] pair of milliseconds');
    }
    const [min, max] = latencyMs as readonly [unknown, unknown];
    if (typeof min !== 'number' || typeof max !== 'number' || !Number.isFinite(min) || !Number.isFinite(max)) {
      throw new ValidationError(`latencyMs must hold two finite numbers, got [${String(min)}, ${String(max)}]`);
    }
    if (min < 0 || min > max) {
      throw new ValidationError(`latencyMs must satisfy 0 <= min <= max, got [${min}, ${max}]`);
    }
    if (typeof dropRate !== 'number' || !(dropRate >= 0 && dropRate <= 1)) {
      throw new ValidationError(`dropRate must be a number in [0, 1], got ${String(dropRate)}`);
    }
    if (seed !== undefined && !Number.isSafeInteger(seed)) {
      throw new ValidationError(`seed must be an integer, got ${String(seed)}`);
    }
    if (
      typeof clock !== 'object' ||
      clock === null ||
      typeof clock.now !== 'function' ||
      typeof clock.setTimeout !== 'function' ||
      typeof clock.clearTimeout !== 'function'
    ) {
      throw new ValidationError('clock must implement now, setTimeout and clearTimeout');
    }
    if (random !== undefined && typeof random !== 'function') {
      throw new ValidationError('random must be a function returning a number in [0, 1)');
    }
    this.#minLatency = min;
    this.#latencySpread = max - min;
    this.#dropRate = dropRate;
    this.#clock = clock;
    if (random === undefined) {
      this.seed = seed ?? Math.floor(Math.random() * 2 ** 32);
      this.#random = seededRandom(this.seed);
    } else {
      this.seed = undefined;
      this.#random = random;
    }
  }

  /**
   * The transport for `address`. Asking again once it is closed gives a fresh transport, as
   * a restarted process would be; asking while it is open throws `ValidationError`.
   */
  transport(address: string): InMemoryTransport {
    if (typeof address !== 'string' || address === '') {
      throw new ValidationError('an address must be a non-empty string');
    }
    if (this.#transports.has(address)) {
      throw new ValidationError(`address ${JSON.stringify(address)} already has an open transport`);
    }
    const transport = new MemoryTransport(address, this.#link, this.#clock === systemClock ? refClock : this.#clock);
    this.#transports.set(address, transport);
    return transport;
  }

  /**
   * Splits the network: members of different groups cannot reach each other, and an address
   * named in no group reaches nobody. Replaces any earlier partition and isolation.
   */
  partition(...groups: string[][]): void {
    const assigned = new Map<string, number>();
    groups.forEach((group, index) => {
      if (!Array.isArray(group)) throw new ValidationError('partition takes arrays of addresses');
      for (const address of group) {
        if (typeof address !== 'string') throw new ValidationError('partition takes arrays of addresses');
        const earlier = assigned.get(address);
        if (earlier !== undefined && earlier !== index) {
          throw new ValidationError(`address ${JSON.stringify(address)} is in two partition groups`);
        }
        assigned.set(address, index);
      }
    });
    this.#groups = assigned;
    this.#isolated.clear();
  }

  /** Cuts `address` off from everyone, on top of the current partition. */
  isolate(address: string): void {
    if (typeof address !== 'string') throw new ValidationError('an address must be a string');
    this.#isolated.add(address);
  }

  /** Ends every partition and isolation. */
  heal(): void {
    this.#groups = undefined;
    this.#isolated.clear();
  }

  /** Whether a message from `from` to `to` would pass now. An address always reaches itself. */
  canReach(from: string, to: string): boolean {
    if (from === to) return true;
    if (this.#isolated.has(from) || this.#isolated.has(to)) return false;
    if (this.#groups === undefined) return true;
    const group = this.#groups.get(from);
    return group !== undefined && group === this.#groups.get(to);
  }

  /** A snapshot of the traffic counters. */
  get stats(): NetworkStats {
    return { messages: this.#messages, bytes: this.#bytes, dropped: this.#dropped };
  }

  /**
   * Carries one frame. The path is checked when the frame leaves and again when it would
   * arrive: a link cut while a frame is in flight loses it, as a real one would.
   */
  #send(from: string, to: string, bytes: Uint8Array, arrive: (bytes: Uint8Array) => void): void {
    this.#messages++;
    this.#bytes += bytes.byteLength;
    // Draw only for what is configured, so a seed's stream does not shift when, say, a
    // dropRate of 0 is added to the options.
    if (!this.canReach(from, to) || (this.#dropRate > 0 && this.#random() < this.#dropRate)) {
      this.#dropped++;
      return;
    }
    this.#after(this.#drawLatency(), () => {
      if (!this.canReach(from, to)) {
        this.#dropped++;
        return;
      }
      arrive(bytes);
    });
  }

  #drawLatency(): number {
    return this.#latencySpread === 0 ? this.#minLatency : this.#minLatency + this.#random() * this.#latencySpread;
  }

  #after(ms: number, fn: () => void): void {
    // Node's setTimeout(fn, 0) waits at least 1 ms, which would cap a benchmark at a
    // thousand round trips a second; an injected clock keeps the schedule deterministic.
    // One setImmediate carries every message that became ready in the same turn.
    if (ms === 0 && this.#clock === systemClock) {
      this.#ready.push(fn);
      if (this.#ready.length === 1) setImmediate(this.#flush);
    } else {
      this.#clock.setTimeout(fn, ms);
    }
  }

}

/**
 * The system clock with ref'd timers, for request timeouts. systemClock's timers never keep
 * the process alive, but a pending request must, as an open socket would: else a script
 * awaiting a request that was lost would just end, silently, before its TimeoutError.
 */
const refClock: Clock = {
  now: () => systemClock.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms) as unknown as TimerHandle,
  clearTimeout: (handle) => clearTimeout(handle as unknown as NodeJS.Timeout),
};

/** The network as a transport sees it. */
interface NetworkLink {
  send(from: string, to: string, bytes: Uint8Array, arrive: (bytes: Uint8Array) => void): void;
  /** The transport listening at `address` now, if any. */
  listener(address: string): MemoryTransport | undefined;
  /** Tells a requester, after a one-way delay, that nobody listens where it sent. */
  refuse(notify: () => void): void;
  detach(transport: MemoryTransport): void;
}

interface Pending {
  readonly resolve: (message: Message) => void;
  readonly reject: (error: Error) => void;
  readonly timer: TimerHandle;
}

// Not exported: its methods for the network (`listening`, `serve`) are no business of users,
// who see it as an InMemoryTransport.
class MemoryTransport implements InMemoryTransport {
  readonly address: string;
  readonly #link: NetworkLink;
  readonly #clock: Clock;
  #handler: RequestHandler | undefined;
  #closed = false;
  #nextId = 1;
  readonly #pending = new PendingTable<Pending>();

  constructor(address: string, link: NetworkLink, clock: Clock) {
    this.address = address;
    this.#link = link;
    this.#clock = clock;
  }

  get pendingRequests(): number {
    return this.#pending.size;
  }

  get listening(): boolean {
    return this.#handler !== undefined && !this.#closed;
  }

  async listen(handler: RequestHandler): Promise<void> {
    if (this.#closed) throw closedError(this.address);
    if (typeof handler !== 'function') throw new ValidationError('listen needs a handler function');
    if (this.#handler !== undefined) throw new ValidationError(`transport ${this.address} is already listening`);
    this.#handler = handler;
  }

  request(to: string, message: Message, options: RequestOptions): Promise<Message> {
    if (this.#closed) return Promise.reject(closedError(this.address));
    if (typeof to !== 'string' || to === '') {
      return Promise.reject(new ValidationError('request needs a non-empty address'));
    }
    const timeoutMs = requestTimeoutMs(options);
    if (timeoutMs instanceof ValidationError) return Promise.reject(timeoutMs);
    const id = this.#nextId++;
    let bytes: Uint8Array;
    try {
      bytes = encodeFrame({ kind: 'request', id, message });
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<Message>((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => {
        this.#pending.delete(id);
        reject(new TimeoutError(`${message.type} request to ${to} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.#link.send(this.address, to, bytes, (arrived) => {
        const target = this.#link.listener(to);
        if (target === undefined) {
          this.#link.refuse(() => this.#settle(id, new DynamoError('UNREACHABLE', `nothing listens at ${to}`)));
        } else {
          target.serve(arrived, this);
        }
      });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#handler = undefined;
    this.#link.detach(this);
    const pending = this.#pending.values();
    this.#pending.clear();
    for (const { reject, timer } of pending) {
      this.#clock.clearTimeout(timer);
      reject(new DynamoError('CLOSED', `transport ${this.address} closed while the request was pending`));
    }
  }

  /** Handles a request frame from `requester` and sends the response back to that very instance. */
  serve(bytes: Uint8Array, requester: MemoryTransport): void {
    const handler = this.#handler;
    const frame = decodeOrDrop(bytes);
    if (handler === undefined || frame?.kind !== 'request') return;
    const { id } = frame;
    let answer: Promise<Message>;
    try {
      answer = Promise.resolve(handler(frame.message, requester.address));
    } catch (error) {
      answer = Promise.reject(error);
    }
    answer.then(
      (message) => this.#respond(requester, encodeReply(id, message)),
      (error: unknown) => this.#respond(requester, encodeFrame({ kind: 'error', id, error: toWireError(error) })),
    );
  }

  #respond(requester: MemoryTransport, bytes: Uint8Array): void {
    // A closed process sends nothing; the requester finds out by its timeout.
    if (this.#closed) return;
    this.#link.send(this.address, requester.address, bytes, requester.#arrive);
  }

  /** Where replies to this transport's requests arrive. */
  readonly #arrive = (bytes: Uint8Array): void => this.#receive(bytes);

  #receive(bytes: Uint8Array): void {
    // A restarted process is a new instance: answers meant for the old one end here.
    if (this.#closed) return;
    const frame = decodeOrDrop(bytes);
    if (frame === undefined || frame.kind === 'request') return;
    this.#settle(
      frame.id,
      frame.kind === 'reply' ? frame.message : fromWireError(frame.error),
    );
  }

  #settle(id: number, outcome: Message | DynamoError): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return; // already timed out or closed
    this.#pending.delete(id);
    this.#clock.clearTimeout(pending.timer);
    if (outcome instanceof DynamoError) pending.reject(outcome);
    else pending.resolve(outcome);
  }
}

/** Never throws: whatever the handler answered, the requester gets a well-formed frame. */
function encodeReply(id: number, message: Message): Uint8Array {
  try {
    return encodeFrame({ kind: 'reply', id, message });
  } catch (error) {
    // The handler's mistake, not the requester's: not INVALID_ARGUMENT.
    const { message: why } = toWireError(error);
    return encodeFrame({ kind: 'error', id, error: { code: 'REMOTE_ERROR', message: `handler gave an invalid answer: ${why}` } });
  }
}

/** Our own frames always decode; should one not, it is dropped as a TCP peer drops garbage. */
function decodeOrDrop(bytes: Uint8Array): Frame | undefined {
  try {
    return decodeFrame(bytes);
  } catch {
    return undefined;
  }
}

function closedError(address: string): DynamoError {
  return new DynamoError('CLOSED', `transport ${address} is closed`);
}
