/**
 * The connection this member dials to one peer, carrying all its requests to that peer
 * (pipelined, matched to answers by id) and their answers back.
 *
 * A request is written only after the handshake: until then it waits in the link's
 * queue. When the connection ends, each pending request learns what is known of its fate:
 * `UNREACHABLE` when the peer never got it (the connection never opened, or the frame
 * never left this process) — the coordinator may then safely send it elsewhere — and
 * `CLOSED` when it was sent, since the peer may have acted on it.
 * @module
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { decodeFrame, fromWireError } from '../codec/wire.js';
import { DynamoError, TimeoutError } from '../errors.js';
import type { Message } from './transport.js';
import {
  MAX_HANDSHAKE_FRAME_BYTES,
  decodeHandshake,
  encodeClientHello,
  encodeClientProof,
  handshakeProof,
  newNonce,
  proofsMatch,
} from './tcp-handshake.js';
import { Link, type SendTag } from './tcp-link.js';
import type { HostPort, ResolvedTcpOptions } from './tcp-options.js';
import { PendingTable } from './pending-table.js';

/** What an outbound connection needs from its transport. */
export interface OutboundContext {
  readonly options: ResolvedTcpOptions;
  /** This member's address as announced in the hello. */
  readonly self: string;
  warn(obj: object, msg: string): void;
  /**
   * The connection is gone; `established` tells whether its handshake had succeeded, and
   * `reason` why it failed when it had not.
   */
  gone(outbound: Outbound, established: boolean, reason: string): void;
}

interface Pending extends SendTag {
  readonly resolve: (message: Message) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

type State = 'handshake' | 'ready' | 'closed';

export class Outbound {
  /** The peer's address, as requests name it. */
  readonly to: string;
  readonly #context: OutboundContext;
  readonly #link: Link;
  readonly #pending = new PendingTable<Pending>();
  readonly #nonce = newNonce();
  /** This member's address as the hello announced it; the proofs cover it. */
  readonly #self: string;
  #state: State = 'handshake';
  #connectTimer: NodeJS.Timeout | undefined;
  /** Why this side ended the connection, when it did. */
  #failure: string | undefined;
  /** The handshake succeeded (even if the connection is gone since). */
  #established = false;
  #tcpConnected = false;
  /** Set by close(): the transport, not the socket's end, settles the pending requests. */
  #closing = false;

  constructor(context: OutboundContext, to: string, target: HostPort) {
    this.to = to;
    this.#context = context;
    this.#self = context.self;
    const { options } = context;
    let socket: Socket;
    if (options.tls === undefined) {
      socket = netConnect({ host: target.host, port: target.port });
    } else {
      const { key, cert, ca } = options.tls;
      socket = tlsConnect({
        host: target.host,
        port: target.port,
        key,
        cert,
        ca: Array.isArray(ca) ? [...(ca as readonly (string | Buffer)[])] : (ca as string | Buffer),
        rejectUnauthorized: true,
        // SNI takes host names only; an IP address is still checked against the certificate.
        ...(isIP(target.host) === 0 ? { servername: target.host } : {}),
      });
    }
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    // An idle pooled connection must not keep the process alive; pending requests do, by their timers.
    socket.unref();
    socket.once('connect', () => (this.#tcpConnected = true));
    this.#link = new Link(
      socket,
      { frameLimit: MAX_HANDSHAKE_FRAME_BYTES, maxQueuedBytes: options.maxQueuedBytes, held: true, pauseReads: false },
      {
        frame: (bytes) => (this.#state === 'ready' ? this.#answer(bytes) : this.#handshake(bytes)),
        fault: (reason) => this.#refuse(`sent ${reason}`),
        close: (error) => this.#closed(error),
      },
    );
    this.#connectTimer = setTimeout(() => {
      this.#fail(`no connection to ${to} within ${options.connectTimeoutMs} ms`);
    }, options.connectTimeoutMs);
    this.#connectTimer.unref();
    // Written now, sent once connected (after the TLS handshake, with TLS).
    this.#link.writeNow(encodeClientHello(options.secret !== undefined, this.#nonce, this.#self));
  }

  /** False once the connection is closing: new requests need a new connection. */
  get usable(): boolean {
    return this.#state !== 'closed' && !this.#link.closed;
  }

  /** Requests awaiting an answer. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Bytes waiting to be sent on this connection. */
  get queuedBytes(): number {
    return this.#link.queuedBytes;
  }

  /** Sends an encoded request frame and waits for its answer (or `timeoutMs`). */
  request(id: number, frame: Uint8Array, type: string, timeoutMs: number): Promise<Message> {
    return new Promise<Message>((resolve, reject) => {
      // Ref'd, unlike every other timer here: a pending request keeps the process alive, as
      // the socket it waits on would.
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new TimeoutError(`${type} request to ${this.to} got no answer within ${timeoutMs} ms`));
        // Not one answer for a whole timeout, though a request was out: the peer is hung,
        // its host gone without a reset (TCP would retry for many minutes), or it stopped
        // in the middle of a frame. Drop the connection, so the next request redials and
        // learns which, rather than time out on this connection forever. A connection that
        // carries other answers meanwhile is kept: only this request was slow.
        if (pending.sent && this.#state === 'ready' && this.#link.framesReceived === pending.framesAtSend) {
          this.#fail(`${this.to} sent no answer for ${timeoutMs} ms while a request waited`);
        }
      }, timeoutMs);
      const pending: Pending = { resolve, reject, timer, sent: false, framesAtSend: 0 };
      this.#pending.set(id, pending);
      this.#link.write(frame, pending);
    });
  }

  /**
   * Closes the connection for good; resolves once the socket is closed. Pending requests
   * stay pending, their timers stopped, until {@link rejectPending}: the transport rejects
   * them as the last step of its own close, so a caller awaiting `close()` can still catch
   * them in time (a rejection nobody handles across a macrotask is reported as unhandled).
   */
  close(): Promise<void> {
    this.#state = 'closed';
    this.#closing = true;
    for (const pending of this.#pending.values()) clearTimeout(pending.timer);
    this.#link.destroy();
    return this.#link.done;
  }

  /** Rejects every pending request with `error`. */
  rejectPending(error: DynamoError): void {
    this.#rejectAll(() => error);
  }

  #handshake(bytes: Uint8Array): void {
    const { secret } = this.#context.options;
    let hello;
    try {
      hello = decodeHandshake(bytes);
    } catch (error) {
      return this.#refuse(`answered the handshake with garbage: ${(error as Error).message}`);
    }
    if (hello.kind !== 'server-hello') return this.#refuse(`answered the handshake with a ${hello.kind}`);
    if (hello.auth !== (secret !== undefined)) {
      return this.#refuse(secret === undefined ? 'demands a cluster secret; this member has none' : 'has no cluster secret');
    }
    if (secret !== undefined) {
      const expected = handshakeProof(secret, 'server', this.#nonce, hello.nonce, this.#self);
      if (!proofsMatch(expected, hello.proof)) return this.#refuse('failed authentication: wrong cluster secret');
      this.#link.writeNow(encodeClientProof(handshakeProof(secret, 'client', this.#nonce, hello.nonce, this.#self)));
    }
    this.#state = 'ready';
    this.#established = true;
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    this.#link.frameLimit = this.#context.options.maxFrameBytes;
    this.#link.release();
  }

  #answer(bytes: Uint8Array): void {
    let frame;
    try {
      frame = decodeFrame(bytes);
    } catch (error) {
      return this.#refuse(`sent a malformed frame: ${(error as Error).message}`);
    }
    if (frame.kind === 'request') return this.#refuse('sent a request on a connection this member dialled');
    const pending = this.#pending.get(frame.id);
    if (pending === undefined) return; // timed out meanwhile
    this.#pending.delete(frame.id);
    clearTimeout(pending.timer);
    if (frame.kind === 'reply') pending.resolve(frame.message);
    else pending.reject(fromWireError(frame.error));
  }

  /** Drops the connection because of the peer's behaviour, and says so in the log. */
  #refuse(reason: string): void {
    if (this.#link.closed) return;
    this.#context.warn({ peer: this.to, reason }, `tcp: dropped the connection to ${this.to}: it ${reason}`);
    this.#fail(`${this.to} ${reason}`);
  }

  #fail(message: string): void {
    if (this.#link.closed) return;
    this.#failure ??= message;
    this.#link.destroy();
  }

  #closed(error: Error | undefined): void {
    const established = this.#established;
    this.#state = 'closed';
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    if (!established && !this.#closing && error !== undefined && this.#tcpConnected && this.#failure === undefined) {
      // Connected, then failed before the handshake ended: usually TLS refusing a certificate.
      this.#context.warn(
        { peer: this.to, err: error.message, code: (error as NodeJS.ErrnoException).code },
        `tcp: connection to ${this.to} failed during the handshake`,
      );
    }
    if (this.#closing) {
      this.#context.gone(this, established, 'closed');
      return;
    }
    const failure = this.#failure;
    const reason = failure ?? describeFailure(this.to, error, established);
    const cause = error === undefined ? {} : { cause: error };
    this.#rejectAll((pending) => {
      if (!established || !pending.sent) return new DynamoError('UNREACHABLE', reason, cause);
      const why = failure === undefined ? '' : ` (${failure})`;
      return new DynamoError('CLOSED', `connection to ${this.to} dropped while the request was pending${why}; the peer may have handled it`, cause);
    });
    this.#context.gone(this, established, reason);
  }

  #rejectAll(errorFor: (pending: Pending) => Error): void {
    const pending = this.#pending.values();
    this.#pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(errorFor(p));
    }
  }
}

function describeFailure(to: string, error: Error | undefined, established: boolean): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ECONNREFUSED') return `${to} refused the connection (nothing listens there)`;
  if (error === undefined) return `${to} closed the connection${established ? '' : ' during the handshake'}`;
  return `connection to ${to} failed: ${code ?? error.message}`;
}
