/**
 * {@link TcpTransport}: the {@link Transport} between processes, over TCP or mutual TLS.
 *
 * - Frames: a 4-byte big-endian length, then the bytes of `encodeFrame` (`src/codec/wire.ts`).
 * - One connection per peer and direction: requests this member sends to a peer share one
 *   dialled connection, pipelined and matched to their answers by id; the peer's requests
 *   come on the connection it dialled.
 * - Each connection opens with a handshake (`tcp-handshake.ts`): the dialler's address,
 *   and with a `secret`, a mutual HMAC challenge-response before anything is served.
 * - Faults: a refused or timed-out dial rejects `UNREACHABLE` and the peer is redialled
 *   after an exponential backoff; a connection that drops rejects what it carried
 *   (`UNREACHABLE` if the request never left, `CLOSED` if the peer may have handled it); a
 *   dialled connection on which a request timed out with no answer at all arriving
 *   meanwhile is dropped, so a hung peer or a frame cut short cannot wedge it; garbage,
 *   oversized frames and failed peers drop only their own connection.
 * - Cost: an idle connection has no timer; the only timers are per request, per dial and
 *   per unfinished inbound handshake.
 *
 * Error codes besides the Transport contract's: `OVERLOADED` — a request would push a
 * connection's write backlog past `maxQueuedBytes`; `LISTEN_FAILED` — the port could not
 * be bound (in use, no permission).
 * @module
 */
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { encodeFrame } from '../codec/wire.js';
import { DynamoError, ValidationError } from '../errors.js';
import type { Message, RequestHandler, RequestOptions, Transport } from './transport.js';
import { requestTimeoutMs } from './request-options.js';
import { Inbound, type InboundContext } from './tcp-inbound.js';
import { Outbound, type OutboundContext } from './tcp-outbound.js';
import {
  formatAddress,
  parseAddress,
  resolveTcpOptions,
  type ResolvedTcpOptions,
  type TcpTransportOptions,
} from './tcp-options.js';

export {
  TCP_DEFAULTS,
  type TcpLogger,
  type TcpTlsOptions,
  type TcpTransportOptions,
} from './tcp-options.js';

/** Failed dials to one peer, for the backoff. */
interface Backoff {
  readonly failures: number;
  /** `performance.now()` before which the peer is not dialled again. */
  readonly retryAt: number;
  readonly reason: string;
}

/**
 * A {@link Transport} over TCP, or mutual TLS when `tls` is given.
 *
 * @example
 * ```ts
 * const a = new TcpTransport({ host: '127.0.0.1', port: 0, secret: process.env.CLUSTER_SECRET });
 * const b = new TcpTransport({ host: '127.0.0.1', port: 0, secret: process.env.CLUSTER_SECRET });
 * await b.listen(async (message, from) => ({ type: 'pong' }));
 * await a.request(b.address, { type: 'ping' }, { timeoutMs: 1000 }); // { type: 'pong' }
 * await Promise.all([a.close(), b.close()]);
 * ```
 */
export class TcpTransport implements Transport {
  readonly #options: ResolvedTcpOptions;
  #address: string;
  #server: Server | undefined;
  /** The listener being bound, so that close() can wait for it. */
  #binding: Promise<void> | undefined;
  #handler: RequestHandler | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #nextId = 1;
  readonly #outbound = new Map<string, Outbound>();
  readonly #inbound = new Set<Inbound>();
  readonly #backoff = new Map<string, Backoff>();
  /** Connections close() is closing, whose requests it rejects last. */
  #closingOutbound: Outbound[] = [];
  readonly #outboundContext: OutboundContext;
  readonly #inboundContext: Omit<InboundContext, 'handler'>;

  constructor(options: TcpTransportOptions) {
    const resolved = resolveTcpOptions(options);
    this.#options = resolved;
    this.#address = formatAddress(resolved.host, resolved.port);
    const warn = (obj: object, msg: string): void => this.#warn(obj, msg);
    const transport = this;
    this.#outboundContext = {
      options: resolved,
      // Read at each dial: with port 0 the address is known only once listening.
      get self() {
        return transport.#address;
      },
      warn,
      gone: (outbound, established, reason) => this.#outboundGone(outbound, established, reason),
    };
    this.#inboundContext = { options: resolved, warn, gone: (inbound) => void this.#inbound.delete(inbound) };
  }

  /** `host:port`; with port 0, the real port once `listen()` resolved. */
  get address(): string {
    return this.#address;
  }

  /** Requests sent and not yet answered, timed out or rejected; zero when idle. */
  get pendingRequests(): number {
    let count = 0;
    for (const outbound of this.#outbound.values()) count += outbound.pendingCount;
    for (const outbound of this.#closingOutbound) count += outbound.pendingCount;
    return count;
  }

  /**
   * Binds the server on `host:port` (over TLS when `tls` is given) and serves requests with
   * `handler`. Rejects with code `LISTEN_FAILED` when the port cannot be bound, and with a
   * `ValidationError` when already listening.
   */
  async listen(handler: RequestHandler): Promise<void> {
    if (this.#closed) throw closedError(this.#address);
    if (typeof handler !== 'function') throw new ValidationError('listen needs a handler function');
    if (this.#handler !== undefined) throw new ValidationError(`transport ${this.#address} is already listening`);
    this.#handler = handler;
    const { host, port, tls, connectTimeoutMs } = this.#options;
    const accept = (socket: Socket): void => this.#accept(socket, handler);
    let server: Server;
    if (tls === undefined) {
      server = createNetServer(accept);
    } else {
      server = createTlsServer(
        {
          key: tls.key,
          cert: tls.cert,
          ca: Array.isArray(tls.ca) ? [...(tls.ca as readonly (string | Buffer)[])] : (tls.ca as string | Buffer),
          requestCert: true,
          rejectUnauthorized: true,
          handshakeTimeout: connectTimeoutMs,
        },
        accept,
      );
      server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: Socket) => {
        this.#warn(
          { peer: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`, err: error.message, code: error.code },
          'tcp: refused a peer whose TLS handshake failed',
        );
      });
    }
    const binding = new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#binding = binding;
    try {
      await binding;
    } catch (error) {
      this.#handler = undefined;
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw new DynamoError('LISTEN_FAILED', `cannot listen on ${this.#address}: ${code}`, { cause: error });
    }
    // Accept errors (EMFILE…) are the listener's own trouble; it goes on listening.
    server.on('error', (error: NodeJS.ErrnoException) => this.#warn({ err: error.message, code: error.code }, 'tcp: listener error'));
    this.#server = server;
    const bound = server.address();
    if (typeof bound === 'object' && bound !== null) this.#address = formatAddress(host, bound.port);
    // close() ran while we were binding: it waits for the binding, then closes the server.
    if (this.#closed) throw closedError(this.#address);
  }

  /**
   * Sends `message` to the `host:port` address `to` over this member's connection to it
   * (dialled if need be) and resolves with the answer. Rejects with `TimeoutError` after
   * `options.timeoutMs`, `UNREACHABLE` when the peer cannot be reached (or is in backoff),
   * `OVERLOADED` past `maxQueuedBytes`, and a `ValidationError` for a frame over `maxFrameBytes`.
   */
  request(to: string, message: Message, options: RequestOptions): Promise<Message> {
    if (this.#closed) return Promise.reject(closedError(this.#address));
    if (typeof to !== 'string') return Promise.reject(new ValidationError('request needs an address'));
    const target = parseAddress(to);
    if (target === undefined) return Promise.reject(new ValidationError(`address ${JSON.stringify(to)} is not host:port`));
    const timeoutMs = requestTimeoutMs(options);
    if (timeoutMs instanceof ValidationError) return Promise.reject(timeoutMs);
    const id = this.#nextId++;
    let frame: Uint8Array;
    try {
      frame = encodeFrame({ kind: 'request', id, message });
    } catch (error) {
      return Promise.reject(error);
    }
    const { maxFrameBytes, maxQueuedBytes } = this.#options;
    if (frame.byteLength > maxFrameBytes) {
      return Promise.reject(
        new ValidationError(`a ${message.type} request takes ${frame.byteLength} bytes, over maxFrameBytes (${maxFrameBytes})`),
      );
    }
    if (target.port === 0) return Promise.reject(new DynamoError('UNREACHABLE', `nothing listens at ${to} (port 0)`));
    let outbound = this.#outbound.get(to);
    // A connection this side just dropped is still in the map until its socket closes.
    if (outbound === undefined || !outbound.usable) {
      const backoff = this.#backoff.get(to);
      if (backoff !== undefined && backoff.retryAt > performance.now()) {
        const wait = Math.ceil(backoff.retryAt - performance.now());
        return Promise.reject(new DynamoError('UNREACHABLE', `${backoff.reason}; not dialling again for ${wait} ms`));
      }
      outbound = new Outbound(this.#outboundContext, to, target);
      this.#outbound.set(to, outbound);
    }
    if (outbound.queuedBytes + frame.byteLength > maxQueuedBytes) {
      return Promise.reject(
        new DynamoError(
          'OVERLOADED',
          `${outbound.queuedBytes} bytes already wait to be sent to ${to}; a ${message.type} request of ${frame.byteLength} would pass maxQueuedBytes (${maxQueuedBytes})`,
        ),
      );
    }
    return outbound.request(id, frame, message.type, timeoutMs);
  }

  /**
   * Stops listening, closes every connection and rejects pending requests with code
   * `CLOSED`. Idempotent: later calls return the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#handler = undefined;
    const error = new DynamoError('CLOSED', `transport ${this.#address} closed while the request was pending`);
    const outbound = [...this.#outbound.values()];
    this.#closingOutbound = outbound;
    this.#outbound.clear();
    const closing = outbound.map((o) => o.close());
    for (const inbound of this.#inbound) closing.push(inbound.destroy());
    this.#inbound.clear();
    this.#backoff.clear();
    await this.#binding?.catch(() => {});
    if (this.#server !== undefined) closing.push(closeServer(this.#server));
    await Promise.all(closing);
    // Last, so that the caller's `await close()` resumes in the same microtask run and can
    // handle these rejections (see Outbound.close).
    for (const o of outbound) o.rejectPending(error);
    this.#closingOutbound = [];
  }

  #accept(socket: Socket, handler: RequestHandler): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    this.#inbound.add(new Inbound({ ...this.#inboundContext, handler }, socket));
  }

  #outboundGone(outbound: Outbound, established: boolean, reason: string): void {
    if (this.#outbound.get(outbound.to) === outbound) this.#outbound.delete(outbound.to);
    if (this.#closed) return;
    if (established) {
      this.#backoff.delete(outbound.to);
      return;
    }
    const failures = (this.#backoff.get(outbound.to)?.failures ?? 0) + 1;
    const [first, max] = this.#options.reconnectDelayMs;
    const delay = Math.min(max, first * 2 ** Math.min(failures - 1, 30));
    const tally = `${failures} failed dial${failures === 1 ? '' : 's'} in a row`;
    this.#backoff.set(outbound.to, { failures, retryAt: performance.now() + delay, reason: `${reason} (${tally})` });
  }

  #warn(obj: object, msg: string): void {
    try {
      this.#options.logger?.warn(obj, msg);
    } catch {
      // A broken logger must not take the transport down with it.
    }
  }
}

function closedError(address: string): DynamoError {
  return new DynamoError('CLOSED', `transport ${address} is closed`);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
