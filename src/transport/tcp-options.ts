/**
 * Options of {@link TcpTransport}: the one place for its defaults, their validation, and the
 * `host:port` address form.
 * @module
 */
import { isIP } from 'node:net';
import { ValidationError } from '../errors.js';

/** A pino-compatible logger; only `warn` is used. */
export interface TcpLogger {
  /** Reports a refused peer or a listener error; `obj` holds structured context, `msg` a short text. */
  warn(obj: object, msg: string): void;
}

/** Mutual TLS: this member's key and certificate, and the CA that signs every member's. */
export interface TcpTlsOptions {
  /** PEM private key of this member. */
  key: string | Buffer;
  /** PEM certificate of this member, signed by `ca`; it must name the host peers dial. */
  cert: string | Buffer;
  /** PEM certificate(s) of the cluster's CA: a peer whose certificate it did not sign is refused. */
  ca: string | Buffer | readonly (string | Buffer)[];
}

/** Options of `new TcpTransport(options)`. Only `host` and `port` are required. */
export interface TcpTransportOptions {
  /** Host to listen on, and the host part of this member's address. */
  host: string;
  /** Port to listen on; 0 picks a free one on `listen()`, after which `address` shows it. */
  port: number;
  /**
   * Mutual TLS: both sides present a certificate the shared CA signed, or the connection
   * is refused. Encrypts and protects every frame.
   * @default undefined (plain TCP)
   */
  tls?: TcpTlsOptions;
  /**
   * Cluster secret (at least 16 bytes). Each connection opens with a challenge-response:
   * both sides prove they hold it by an HMAC-SHA256 over fresh random nonces, and the
   * secret itself never travels. It authenticates a connection when it opens; without
   * `tls`, what follows is neither encrypted nor protected from an attacker on the path.
   * @default undefined (no challenge)
   */
  secret?: string | Uint8Array;
  /**
   * Largest frame sent or accepted, in bytes. A peer announcing a larger one is dropped;
   * a request or answer larger than this is refused before sending. Must match across
   * the cluster.
   * @default 16777216 (16 MiB)
   */
  maxFrameBytes?: number;
  /**
   * Bytes waiting to be written on one connection at most (frames queued here plus what
   * the socket buffers). A request that would pass it rejects with code `OVERLOADED`; a
   * connection whose answers pass it stops reading requests until its peer catches up.
   * @default 2 × maxFrameBytes, so a largest frame always fits behind another
   */
  maxQueuedBytes?: number;
  /**
   * Time allowed to open a connection (TCP, TLS and the handshake). Past it the dialler's
   * requests reject `UNREACHABLE`, and the listener drops a peer that has not finished its
   * handshake, so idle unauthenticated connections cannot pile up.
   * @default 5000
   */
  connectTimeoutMs?: number;
  /**
   * Delay before dialling a peer again after a failed attempt: the first, doubled after
   * each further failure up to the second. Meanwhile requests to that peer reject
   * `UNREACHABLE` at once. A connection that drops after it was up is redialled at once.
   * @default [50, 2000]
   */
  reconnectDelayMs?: readonly [first: number, max: number];
  /**
   * Where refused peers (failed authentication or TLS, garbage, oversized frames) are
   * reported.
   * @default silent
   */
  logger?: TcpLogger;
}

/** Defaults of {@link TcpTransportOptions}; `maxQueuedBytes` derives from `maxFrameBytes`. */
export const TCP_DEFAULTS = {
  /** Default of {@link TcpTransportOptions.maxFrameBytes}: 16777216 bytes (16 MiB). */
  maxFrameBytes: 16 * 1024 * 1024,
  /** Default of {@link TcpTransportOptions.connectTimeoutMs}: 5000 ms. */
  connectTimeoutMs: 5000,
  /** Default of {@link TcpTransportOptions.reconnectDelayMs}: first retry after 50 ms, backing off to at most 2000 ms. */
  reconnectDelayMs: [50, 2000] as const,
} as const;

/** Fewest bytes a secret may have: a short one falls to an offline search of a recorded handshake. */
export const MIN_SECRET_BYTES = 16;

/** The 4-byte length prefix caps a frame's size. */
const MAX_FRAME_LIMIT = 0xffff_ffff;
const MIN_FRAME_LIMIT = 1024;

/** Options after defaults and validation. */
export interface ResolvedTcpOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: TcpTlsOptions | undefined;
  readonly secret: Buffer | undefined;
  readonly maxFrameBytes: number;
  readonly maxQueuedBytes: number;
  readonly connectTimeoutMs: number;
  readonly reconnectDelayMs: readonly [number, number];
  readonly logger: TcpLogger | undefined;
}

/** Validates `options` (never mutating them) and fills in the defaults. */
export function resolveTcpOptions(options: TcpTransportOptions): ResolvedTcpOptions {
  if (typeof options !== 'object' || options === null) throw new ValidationError('TcpTransport needs an options object');
  const { host, port, tls, secret, logger } = options;
  if (typeof host !== 'string' || host === '' || /[\s\[\]]/.test(host)) {
    throw new ValidationError(`host must be a non-empty host name or IP address, got ${String(host)}`);
  }
  checkInteger('port', port, 0, 65535);
  const maxFrameBytes = options.maxFrameBytes ?? TCP_DEFAULTS.maxFrameBytes;
  checkInteger('maxFrameBytes', maxFrameBytes, MIN_FRAME_LIMIT, MAX_FRAME_LIMIT);
  const maxQueuedBytes = options.maxQueuedBytes ?? 2 * maxFrameBytes;
  // A frame the connection may send must fit in its queue, or it could never be sent.
  checkInteger('maxQueuedBytes', maxQueuedBytes, maxFrameBytes + 4, Number.MAX_SAFE_INTEGER);
  const connectTimeoutMs = options.connectTimeoutMs ?? TCP_DEFAULTS.connectTimeoutMs;
  if (typeof connectTimeoutMs !== 'number' || !Number.isFinite(connectTimeoutMs) || connectTimeoutMs <= 0) {
    throw new ValidationError(`connectTimeoutMs must be a positive finite number, got ${String(connectTimeoutMs)}`);
  }
  const delays: unknown = options.reconnectDelayMs ?? TCP_DEFAULTS.reconnectDelayMs;
  if (!Array.isArray(delays) || delays.length !== 2) {
    throw new ValidationError('reconnectDelayMs must be a [first, max] pair of milliseconds');
  }
  const [first, max] = delays as [unknown, unknown];
  if (typeof first !== 'number' || typeof max !== 'number' || !(first >= 0) || !(max >= first) || !Number.isFinite(max)) {
    throw new ValidationError(`reconnectDelayMs must satisfy 0 <= first <= max < Infinity, got [${String(first)}, ${String(max)}]`);
  }
  if (tls !== undefined) {
    if (typeof tls !== 'object' || tls === null) throw new ValidationError('tls must be { key, cert, ca }');
    for (const field of ['key', 'cert', 'ca'] as const) {
      const value: unknown = tls[field];
      const ok = (v: unknown) => (typeof v === 'string' && v !== '') || (Buffer.isBuffer(v) && v.byteLength > 0);
      if (!(ok(value) || (field === 'ca' && Array.isArray(value) && value.length > 0 && value.every(ok)))) {
        throw new ValidationError(`tls.${field} must be PEM text or a Buffer holding it`);
      }
    }
  }
  let secretBytes: Buffer | undefined;
  if (secret !== undefined) {
    if (typeof secret === 'string') secretBytes = Buffer.from(secret, 'utf8');
    else if (secret instanceof Uint8Array) secretBytes = Buffer.from(secret); // a copy: the caller may reuse theirs
    else throw new ValidationError('secret must be a string or a Uint8Array');
    if (secretBytes.byteLength < MIN_SECRET_BYTES) {
      throw new ValidationError(`secret must hold at least ${MIN_SECRET_BYTES} bytes, got ${secretBytes.byteLength}`);
    }
  }
  if (logger !== undefined && (typeof logger !== 'object' || logger === null || typeof logger.warn !== 'function')) {
    throw new ValidationError('logger must have a warn(obj, msg) method');
  }
  return {
    host,
    port,
    tls: tls === undefined ? undefined : { key: tls.key, cert: tls.cert, ca: tls.ca },
    secret: secretBytes,
    maxFrameBytes,
    maxQueuedBytes,
    connectTimeoutMs,
    reconnectDelayMs: [first, max],
    logger,
  };
}

function checkInteger(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
}

/** A parsed `host:port` (IPv6 hosts in brackets: `[::1]:7000`). */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** The address string of `host` and `port`. */
export function formatAddress(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Parses a `host:port` address; undefined when it is not one. Port 0 parses (nobody listens there). */
export function parseAddress(address: string): HostPort | undefined {
  const match = /^(?:\[([^\[\]\s]+)\]|([^\[\]\s:]+)):(\d{1,5})$/.exec(address);
  if (match === null) return undefined;
  const host = match[1] ?? match[2];
  const port = Number(match[3]);
  if (host === undefined || port > 65535) return undefined;
  if (match[1] !== undefined && isIP(host) !== 6) return undefined;
  return { host, port };
}
