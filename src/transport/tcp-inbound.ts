/**
 * A connection a peer dialled to this member: the handshake's listening side, then the
 * peer's requests served by the handler, answers written back in completion order.
 *
 * Nothing reaches the handler before the handshake is done, the peer's proof checked when
 * there is a secret. Anything else a peer may send — a bad length, garbage, a frame of the
 * wrong shape or kind, a failed proof — drops the connection and is logged; the listener
 * and every other connection go on.
 * @module
 */
import type { Socket } from 'node:net';
import { decodeFrame, encodeFrame, toWireError } from '../codec/wire.js';
import type { Message, RequestHandler } from './transport.js';
import {
  MAX_HANDSHAKE_FRAME_BYTES,
  decodeHandshake,
  encodeServerHello,
  handshakeProof,
  newNonce,
  proofsMatch,
  type ClientHello,
} from './tcp-handshake.js';
import { Link } from './tcp-link.js';
import { parseAddress, type ResolvedTcpOptions } from './tcp-options.js';

/** What an inbound connection needs from its transport. */
export interface InboundContext {
  readonly options: ResolvedTcpOptions;
  readonly handler: RequestHandler;
  warn(obj: object, msg: string): void;
  gone(inbound: Inbound): void;
}

type State =
  | { readonly name: 'hello' }
  | { readonly name: 'proof'; readonly hello: ClientHello; readonly expected: Buffer }
  | { readonly name: 'ready'; readonly from: string };

export class Inbound {
  readonly #context: InboundContext;
  readonly #link: Link;
  /** The peer's socket address, for the log (gone from the socket once it is destroyed). */
  readonly #peer: string;
  #state: State = { name: 'hello' };
  #handshakeTimer: NodeJS.Timeout | undefined;
  /** Set once this side ended the connection (and logged why, if it was the peer's fault). */
  #ended = false;

  constructor(context: InboundContext, socket: Socket) {
    this.#context = context;
    this.#peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const { options } = context;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    this.#link = new Link(
      socket,
      { frameLimit: MAX_HANDSHAKE_FRAME_BYTES, maxQueuedBytes: options.maxQueuedBytes, held: false, pauseReads: true },
      {
        frame: (bytes) => (this.#state.name === 'ready' ? this.#serve(bytes, this.#state.from) : this.#handshake(bytes)),
        fault: (reason) => this.#refuse(`sent ${reason}`),
        close: () => {
          clearTimeout(this.#handshakeTimer);
          if (this.#state.name === 'proof' && !this.#ended) {
            // Typically a dialler whose secret differs: it found our proof wrong and hung up.
            context.warn(
              { peer: this.#peer, address: this.#state.hello.address, reason: 'left before proving it holds the cluster secret' },
              `tcp: refused the peer at ${this.#peer}: it left before proving it holds the cluster secret`,
            );
          }
          context.gone(this);
        },
      },
    );
    this.#handshakeTimer = setTimeout(
      () => this.#refuse(`did not finish its handshake within ${options.connectTimeoutMs} ms`),
      options.connectTimeoutMs,
    );
    this.#handshakeTimer.unref();
  }

  /** Closes the connection (answers still being computed go nowhere); resolves once the socket is closed. */
  destroy(): Promise<void> {
    this.#ended = true;
    clearTimeout(this.#handshakeTimer);
    this.#link.destroy();
    return this.#link.done;
  }

  #handshake(bytes: Uint8Array): void {
    const { secret } = this.#context.options;
    let frame;
    try {
      frame = decodeHandshake(bytes);
    } catch (error) {
      return this.#refuse(`sent garbage instead of a handshake: ${(error as Error).message}`);
    }
    const state = this.#state;
    if (state.name === 'hello') {
      if (frame.kind !== 'client-hello') return this.#refuse(`opened with a ${frame.kind} instead of a client-hello`);
      if (parseAddress(frame.address) === undefined) return this.#refuse(`announced a malformed address ${JSON.stringify(frame.address)}`);
      if (frame.auth !== (secret !== undefined)) {
        return this.#refuse(secret === undefined ? 'wants a cluster secret; this member has none' : 'has no cluster secret');
      }
      const nonce = newNonce();
      if (secret === undefined) {
        this.#link.writeNow(encodeServerHello(nonce, undefined));
        return this.#ready(frame.address);
      }
      this.#link.writeNow(encodeServerHello(nonce, handshakeProof(secret, 'server', frame.nonce, nonce, frame.address)));
      this.#state = { name: 'proof', hello: frame, expected: handshakeProof(secret, 'client', frame.nonce, nonce, frame.address) };
      return;
    }
    if (state.name !== 'proof') return;
    if (frame.kind !== 'client-proof') return this.#refuse(`sent a ${frame.kind} instead of its proof`);
    if (!proofsMatch(state.expected, frame.proof)) {
      return this.#refuse(`(announcing ${JSON.stringify(state.hello.address)}) failed authentication: wrong cluster secret`);
    }
    this.#ready(state.hello.address);
  }

  #ready(from: string): void {
    clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
    this.#state = { name: 'ready', from };
    this.#link.frameLimit = this.#context.options.maxFrameBytes;
  }

  #serve(bytes: Uint8Array, from: string): void {
    let frame;
    try {
      frame = decodeFrame(bytes);
    } catch (error) {
      return this.#refuse(`sent a malformed frame: ${(error as Error).message}`);
    }
    if (frame.kind !== 'request') return this.#refuse(`sent a${frame.kind === 'error' ? 'n' : ''} ${frame.kind} frame to a listener`);
    const { id } = frame;
    void answer(this.#context.handler, frame.message, from).then((outcome) => {
      if (!this.#link.closed) this.#link.write(encodeResponse(id, outcome, this.#context.options.maxFrameBytes));
    });
  }

  /** Drops the connection because of the peer's behaviour, and says so in the log. */
  #refuse(reason: string): void {
    if (this.#link.closed) return;
    const announced = this.#state.name === 'ready' ? this.#state.from : undefined;
    this.#context.warn(
      { peer: this.#peer, ...(announced === undefined ? {} : { from: announced }), reason },
      `tcp: refused the peer at ${this.#peer}: it ${reason}`,
    );
    void this.destroy();
  }
}

type Outcome = { readonly ok: true; readonly message: Message } | { readonly ok: false; readonly error: unknown };

/** Runs a handler, turning a synchronous throw into a failed outcome like an asynchronous one. */
async function answer(handler: RequestHandler, message: Message, from: string): Promise<Outcome> {
  try {
    return { ok: true, message: await handler(message, from) };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Never throws: whatever the handler did, the requester gets a well-formed answer that fits in a frame. */
function encodeResponse(id: number, outcome: Outcome, maxFrameBytes: number): Uint8Array {
  let bytes: Uint8Array;
  if (outcome.ok) {
    try {
      bytes = encodeFrame({ kind: 'reply', id, message: outcome.message });
    } catch (error) {
      // The handler's mistake, not the requester's: not INVALID_ARGUMENT.
      const { message } = toWireError(error);
      bytes = encodeFrame({ kind: 'error', id, error: { code: 'REMOTE_ERROR', message: `handler gave an invalid answer: ${message}` } });
    }
  } else {
    bytes = encodeFrame({ kind: 'error', id, error: toWireError(outcome.error) });
  }
  if (bytes.byteLength <= maxFrameBytes) return bytes;
  // The requester would drop a frame this large, and with it every other answer on the connection.
  return encodeFrame({
    kind: 'error',
    id,
    error: { code: 'REMOTE_ERROR', message: `the answer takes ${bytes.byteLength} bytes, over maxFrameBytes (${maxFrameBytes})` },
  });
}
