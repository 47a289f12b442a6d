/**
 * One TCP (or TLS) connection as a stream of length-prefixed frames: each frame is a 4-byte
 * big-endian length and that many bytes. Reading splits the stream into frames and refuses
 * a length over the current limit as soon as the prefix arrives, before buffering a byte of
 * the body. Writing keeps a bounded backlog: it stops handing frames to the socket when
 * `socket.write()` returns false and resumes on `'drain'`, so memory stays at what the
 * caller admitted against {@link Link.queuedBytes}.
 * @module
 */
import type { Socket } from 'node:net';

/** Size of the length prefix. */
export const PREFIX_BYTES = 4;

/** Frames smaller than this are copied behind their prefix, saving a write call. */
const COALESCE_BELOW = 16 * 1024;

/** What a link tells its owner. Called synchronously; none may throw. */
export interface LinkEvents {
  /** One whole frame, a view valid only during the call. */
  frame(bytes: Uint8Array): void;
  /** The stream broke the framing (zero or over-limit length); the owner should destroy the link. */
  fault(reason: string): void;
  /** The socket is gone; `error` is why, when it failed rather than ended. Called once. */
  close(error: Error | undefined): void;
}

/** Filled in on a frame's tag once the frame was handed to the socket. */
export interface SendTag {
  sent: boolean;
  /** {@link Link.framesReceived} at that moment. */
  framesAtSend: number;
}

export interface LinkOptions {
  /** Largest frame accepted now; the owner raises it once the handshake is done. */
  frameLimit: number;
  /** Above this backlog, a link with `pauseReads` stops reading until the backlog drains. */
  maxQueuedBytes: number;
  /** Hold frames from {@link Link.write} until {@link Link.release} (the handshake goes first). */
  held: boolean;
  /**
   * Stop reading while the backlog is over `maxQueuedBytes`: for a link that answers, so a
   * peer that does not read its answers cannot make it queue without bound. Never for a
   * link that sends requests: it would stop reading the answers that free its peer.
   */
  pauseReads: boolean;
}

export class Link {
  readonly socket: Socket;
  /** Largest frame accepted now. */
  frameLimit: number;
  /** Whole frames read so far: a cheap way to tell whether any arrived between two moments. */
  framesReceived = 0;
  readonly #events: LinkEvents;
  readonly #maxQueuedBytes: number;
  readonly #pauseReads: boolean;

  /** Bytes received and not yet a whole frame, as chunks. */
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** Bytes the frame being received needs, prefix included (just the prefix while unknown). */
  #needed = PREFIX_BYTES;

  /** Frames held back (before release, or while the socket is backed up), each with its prefix. */
  #queue: (OutFrame | undefined)[] = [];
  #queueHead = 0;
  #queuedBytes = 0;
  #held: boolean;
  #blocked = false;
  #corked = false;
  #readsPaused = false;
  #closed = false;
  #error: Error | undefined;
  #done!: () => void;
  /** Settles once the socket has closed. */
  readonly done = new Promise<void>((resolve) => (this.#done = resolve));

  constructor(socket: Socket, options: LinkOptions, events: LinkEvents) {
    this.socket = socket;
    this.frameLimit = options.frameLimit;
    this.#maxQueuedBytes = options.maxQueuedBytes;
    this.#held = options.held;
    this.#pauseReads = options.pauseReads;
    this.#events = events;
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    // 'close' always follows 'error'; the first error is the one worth reporting.
    socket.on('error', (error) => void (this.#error ??= error));
    socket.on('close', () => this.#onClose());
  }

  /** Whether the link is gone or going. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes accepted for sending and not yet taken by the kernel. */
  get queuedBytes(): number {
    return this.#queuedBytes + this.socket.writableLength;
  }

  /** Sends a frame after the ones before it; `tag.sent` becomes true once the socket has it. */
  write(frame: Uint8Array, tag?: SendTag): void {
    if (this.#closed) return;
    const out = prefixed(frame, tag);
    if (this.#held || this.#blocked) {
      this.#queue.push(out);
      this.#queuedBytes += out.size;
    } else {
      this.#send(out);
    }
    if (this.#pauseReads && !this.#readsPaused && this.queuedBytes > this.#maxQueuedBytes) {
      this.#readsPaused = true;
      this.socket.pause();
    }
  }

  /** Sends a handshake frame now, ahead of held frames. */
  writeNow(frame: Uint8Array): void {
    if (!this.#closed) this.#send(prefixed(frame, undefined));
  }

  /** Lets held frames go, in order. */
  release(): void {
    this.#held = false;
    this.#flush();
  }

  /** Closes the connection at once; queued frames are dropped. */
  destroy(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    if (error !== undefined) this.#error ??= error;
    this.socket.destroy();
  }

  /** The error that ended the link, if it failed. */
  get error(): Error | undefined {
    return this.#error;
  }

  #send(out: OutFrame): void {
    // Frames written in one tick leave in one writev: at 64 requests in flight that is one
    // system call for many frames instead of one each.
    if (!this.#corked) {
      this.#corked = true;
      this.socket.cork();
      process.nextTick(this.#uncork);
    }
    let ok = this.socket.write(out.head);
    if (out.body !== undefined) ok = this.socket.write(out.body);
    if (out.tag !== undefined) {
      out.tag.sent = true;
      out.tag.framesAtSend = this.framesReceived;
    }
    if (!ok && !this.#blocked) {
      this.#blocked = true;
      this.socket.once('drain', this.#onDrain);
    }
  }

  readonly #uncork = (): void => {
    this.#corked = false;
    this.socket.uncork();
  };

  readonly #onDrain = (): void => {
    this.#blocked = false;
    this.#flush();
    if (this.#readsPaused && !this.#blocked && this.queuedBytes <= this.#maxQueuedBytes && !this.#closed) {
      this.#readsPaused = false;
      this.socket.resume();
    }
  };

  #flush(): void {
    while (!this.#held && !this.#blocked && !this.#closed && this.#queueHead < this.#queue.length) {
      const out = this.#queue[this.#queueHead]!;
      this.#queue[this.#queueHead++] = undefined;
      this.#queuedBytes -= out.size;
      this.#send(out);
    }
    if (this.#queueHead === this.#queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
    } else if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
  }

  #receive(chunk: Buffer): void {
    if (this.#closed) return;
    let buffer: Buffer;
    if (this.#buffered === 0) {
      buffer = chunk;
    } else {
      this.#chunks.push(chunk);
      this.#buffered += chunk.byteLength;
      // A large frame arrives in many chunks: join them once, when it is whole.
      if (this.#buffered < this.#needed) return;
      buffer = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#buffered);
      this.#chunks = [];
      this.#buffered = 0;
    }
    let offset = 0;
    while (!this.#closed && buffer.byteLength - offset >= PREFIX_BYTES) {
      const length = buffer.readUInt32BE(offset);
      if (length === 0 || length > this.frameLimit) {
        this.#events.fault(length === 0 ? 'an empty frame' : `a frame of ${length} bytes, over the limit of ${this.frameLimit}`);
        return;
      }
      if (buffer.byteLength - offset - PREFIX_BYTES < length) {
        this.#needed = PREFIX_BYTES + length;
        break;
      }
      const start = offset + PREFIX_BYTES;
      offset = start + length;
      this.#needed = PREFIX_BYTES;
      this.framesReceived++;
      try {
        this.#events.frame(buffer.subarray(start, offset));
      } catch (error) {
        // A bug of ours must cost one connection, not the process (this runs in a socket event).
        this.#events.fault(`a frame this side failed to handle (${error instanceof Error ? error.message : String(error)})`);
        return;
      }
    }
    if (!this.#closed && offset < buffer.byteLength) {
      const rest = buffer.subarray(offset);
      this.#chunks.push(rest);
      this.#buffered = rest.byteLength;
    }
  }

  #onClose(): void {
    this.#closed = true;
    this.#chunks = [];
    this.#queue = [];
    this.#queueHead = 0;
    this.#queuedBytes = 0;
    this.#done();
    this.#events.close(this.#error);
  }
}

/**
 * A frame with its length prefix. A small frame is copied behind the prefix into `head`;
 * a large one keeps its bytes in `body`, uncopied, and `head` is just the prefix.
 */
interface OutFrame {
  readonly head: Buffer;
  readonly body: Uint8Array | undefined;
  readonly size: number;
  readonly tag: SendTag | undefined;
}

function prefixed(frame: Uint8Array, tag: SendTag | undefined): OutFrame {
  const length = frame.byteLength;
  const size = PREFIX_BYTES + length;
  if (length < COALESCE_BELOW) {
    const head = Buffer.allocUnsafe(size);
    head.writeUInt32BE(length, 0);
    head.set(frame, PREFIX_BYTES);
    return { head, body: undefined, size, tag };
  }
  const head = Buffer.allocUnsafe(PREFIX_BYTES);
  head.writeUInt32BE(length, 0);
  return { head, body: frame, size, tag };
}
