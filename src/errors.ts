/**
 * Errors thrown by libdynamo. Every error is a {@link DynamoError} with a stable uppercase
 * `code`, so callers can branch on `err.code` without parsing messages.
 *
 * | code | class | meaning |
 * |---|---|---|
 * | `INVALID_ARGUMENT` | {@link ValidationError} | bad option, key, value, context or message; nothing was written |
 * | `QUORUM_FAILED` | {@link QuorumError} | fewer than the required replicas answered in time |
 * | `TIMEOUT` | {@link TimeoutError} | one request to one peer got no answer in time |
 * | `UNREACHABLE` | {@link DynamoError} | the peer refused the request or is not listening |
 * | `NOT_STARTED` | {@link DynamoError} | the member is not running (call `start()` first) |
 * | `CLOSED` | {@link DynamoError} | the transport or member was closed while the request was pending |
 * | `REMOTE_ERROR` | {@link DynamoError} | the peer answered with an error of its own |
 * | `STORAGE_CLOSED` | {@link DynamoError} | the storage is not open |
 * | `OVERLOADED` | {@link DynamoError} | a TCP connection's write backlog is full (`maxQueuedBytes`): back off and retry |
 * | `LISTEN_FAILED` | {@link DynamoError} | `TcpTransport` could not listen on its host and port |
 * | `TOO_MANY_SIBLINGS` | {@link DynamoError} | the put would leave more than `maxSiblings` versions: read, merge, write with the context |
 * @module
 */

/** Options common to every libdynamo error. */
export interface DynamoErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
}

/** Base class of every error libdynamo throws; `code` is stable and documented. */
export class DynamoError extends Error {
  /** Stable machine-readable code, e.g. `'QUORUM_FAILED'`. */
  readonly code: string;

  constructor(code: string, message: string, options?: DynamoErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DynamoError';
    this.code = code;
  }
}

/** A bad argument: options, key, value, context or wire message. Nothing was written. */
export class ValidationError extends DynamoError {
  constructor(message: string, options?: DynamoErrorOptions) {
    super('INVALID_ARGUMENT', message, options);
    this.name = 'ValidationError';
  }
}

/** A request to a single peer got no answer within its timeout. */
export class TimeoutError extends DynamoError {
  constructor(message: string, options?: DynamoErrorOptions) {
    super('TIMEOUT', message, options);
    this.name = 'TimeoutError';
  }
}

/**
 * A read or write reached fewer replicas than required. `required` is the quorum asked for
 * (R, W, PR or PW) and `acks` how many replicas answered successfully. A write that fails
 * this way may still have reached some replicas: it is not acknowledged, and a later read
 * may or may not see it.
 */
export class QuorumError extends DynamoError {
  /** Replicas that had to answer. */
  readonly required: number;
  /** Replicas that did answer successfully. */
  readonly acks: number;

  constructor(message: string, required: number, acks: number, options?: DynamoErrorOptions) {
    super('QUORUM_FAILED', message, options);
    this.name = 'QuorumError';
    this.required = required;
    this.acks = acks;
  }
}
