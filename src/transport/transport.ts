/**
 * The `Transport` interface: request/response messaging between members.
 *
 * A message is a plain CBOR-encodable object with a string `type`. Transports encode every
 * message to bytes and decode it on the other side (the in-memory network does so too), so
 * a member never shares object references with another.
 * @module
 */

/** A protocol message. The shapes are libdynamo's own; transports only carry them. */
export interface Message {
  /** The message kind (e.g. `'read'`, `'read-reply'`), which says what the other fields are. */
  readonly type: string;
  readonly [field: string]: unknown;
}

/**
 * Serves one incoming request. `from` is the sender's address as the transport knows it.
 * A thrown error is sent back to the requester, who sees it rejected as a `DynamoError`
 * with code `REMOTE_ERROR` (or the remote error's own code when it had one).
 */
export type RequestHandler = (message: Message, from: string) => Promise<Message>;

/** Per-request options. */
export interface RequestOptions {
  /** Reject with `TimeoutError` when no answer came within this many milliseconds. */
  timeoutMs: number;
}

/**
 * Carries requests between members.
 *
 * Contract (checked by the compliance suite in `libdynamo/compliance`):
 * - `listen(handler)` starts serving; requests to an address nobody listens on reject with
 *   a `DynamoError` of code `UNREACHABLE` (or time out, where the network cannot tell).
 * - `request` resolves with the handler's answer, or rejects with `TimeoutError`, or with a
 *   `DynamoError` carrying the remote error's code and message.
 * - Messages arrive as decoded copies: byte arrays stay `Uint8Array`, and the shapes
 *   survive a CBOR round trip.
 * - `close()` stops serving, rejects this transport's pending requests and frees every
 *   socket and timer. It is safe to call twice.
 */
export interface Transport {
  /** This member's address, as peers and seeds name it. */
  readonly address: string;
  /** Starts serving incoming requests with `handler`; a transport listens with one handler only. */
  listen(handler: RequestHandler): Promise<void>;
  /**
   * Sends `message` to the member at address `to` and resolves with its answer; rejects with
   * `TimeoutError` after `options.timeoutMs` milliseconds without one.
   */
  request(to: string, message: Message, options: RequestOptions): Promise<Message>;
  /** Stops serving, rejects pending requests with code `CLOSED` and frees every resource; safe to call twice. */
  close(): Promise<void>;
}
