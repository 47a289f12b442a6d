/**
 * The handshake that opens every {@link TcpTransport} connection, before any wire frame.
 *
 * The dialler says who it is — the address it listens on, which the listener's handler
 * sees as `from` — and, when the cluster has a shared secret, each side proves it holds
 * the secret without sending it: a challenge-response with HMAC-SHA256 (RFC 2104) over
 * both sides' fresh random nonces and the dialler's address. Each proof is keyed by the
 * secret and labelled with its role, so a proof one side gives can never be replayed as
 * the other's, nor on another connection (new nonces), nor for another address.
 *
 * ```
 * dialler                                          listener
 * client-hello {version, auth, nonceC, address}  →
 *                                                ←  server-hello {version, auth, nonceS, proofS}
 * client-proof {proofC}  (only with a secret)    →
 * request frames …                               ←  answers …
 * ```
 *
 * The dialler sends requests only once it has checked the listener's proof, so a peer
 * without the secret learns nothing; the listener serves nothing before it checked the
 * dialler's. Without a secret the exchange still runs (auth flag clear, no proofs): it
 * carries the address, and it makes a secret/no-secret mismatch a clean refusal.
 *
 * The frames are fixed binary layouts, not CBOR: this parser faces unauthenticated peers,
 * and a layout checked byte by byte leaves nothing to a general decoder. They travel with
 * the same 4-byte length prefix as wire frames, capped at {@link MAX_HANDSHAKE_FRAME_BYTES}.
 *
 * | frame | layout (after the 4-byte magic `DYNH`, 1-byte version, 1-byte type) |
 * |---|---|
 * | client-hello (1) | flags (bit 0: auth), nonce[32], address length (1..255), address (UTF-8) |
 * | server-hello (2) | flags (bit 0: auth), nonce[32], proof[32] when auth |
 * | client-proof (3) | proof[32] |
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ValidationError } from '../errors.js';

/** Version of the handshake; a peer speaking another one is refused. */
export const HANDSHAKE_VERSION = 1;
export const NONCE_BYTES = 32;
export const PROOF_BYTES = 32;
/** Longest address a hello may carry, in UTF-8 bytes. */
export const MAX_ADDRESS_BYTES = 255;
/** Largest frame accepted before the handshake is done: a client-hello with the longest address. */
export const MAX_HANDSHAKE_FRAME_BYTES = 6 + 1 + NONCE_BYTES + 1 + MAX_ADDRESS_BYTES;

const MAGIC = Buffer.from('DYNH', 'ascii');
const HEADER_BYTES = MAGIC.byteLength + 2;
const CLIENT_HELLO = 1;
const SERVER_HELLO = 2;
const CLIENT_PROOF = 3;
const AUTH = 1;

const LABELS = {
  client: Buffer.from('libdynamo tcp handshake v1: dialler proof\0', 'ascii'),
  server: Buffer.from('libdynamo tcp handshake v1: listener proof\0', 'ascii'),
};

export interface ClientHello {
  readonly kind: 'client-hello';
  readonly auth: boolean;
  readonly nonce: Buffer;
  readonly address: string;
}

export interface ServerHello {
  readonly kind: 'server-hello';
  readonly auth: boolean;
  readonly nonce: Buffer;
  /** Present exactly when `auth` is set. */
  readonly proof: Buffer | undefined;
}

export interface ClientProof {
  readonly kind: 'client-proof';
  readonly proof: Buffer;
}

export type HandshakeFrame = ClientHello | ServerHello | ClientProof;

/** A fresh random nonce. */
export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

export function encodeClientHello(auth: boolean, nonce: Buffer, address: string): Buffer {
  const addressBytes = Buffer.from(address, 'utf8');
  if (addressBytes.byteLength === 0 || addressBytes.byteLength > MAX_ADDRESS_BYTES) {
    throw new ValidationError(`an address must take 1 to ${MAX_ADDRESS_BYTES} bytes, got ${addressBytes.byteLength}`);
  }
  checkLength('nonce', nonce, NONCE_BYTES);
  return Buffer.concat([header(CLIENT_HELLO), Buffer.of(auth ? AUTH : 0), nonce, Buffer.of(addressBytes.byteLength), addressBytes]);
}

export function encodeServerHello(nonce: Buffer, proof: Buffer | undefined): Buffer {
  checkLength('nonce', nonce, NONCE_BYTES);
  if (proof === undefined) return Buffer.concat([header(SERVER_HELLO), Buffer.of(0), nonce]);
  checkLength('proof', proof, PROOF_BYTES);
  return Buffer.concat([header(SERVER_HELLO), Buffer.of(AUTH), nonce, proof]);
}

export function encodeClientProof(proof: Buffer): Buffer {
  checkLength('proof', proof, PROOF_BYTES);
  return Buffer.concat([header(CLIENT_PROOF), proof]);
}

/**
 * Decodes one handshake frame from an unauthenticated peer. Anything but an exact,
 * well-formed frame of this version throws `ValidationError`; nothing else is thrown.
 * Returned buffers are copies.
 */
export function decodeHandshake(bytes: Uint8Array): HandshakeFrame {
  const frame = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (frame.byteLength < HEADER_BYTES || !frame.subarray(0, MAGIC.byteLength).equals(MAGIC)) {
    throw new ValidationError('not a libdynamo handshake');
  }
  const version = frame[MAGIC.byteLength]!;
  if (version !== HANDSHAKE_VERSION) {
    throw new ValidationError(`unsupported handshake version ${version} (this build speaks ${HANDSHAKE_VERSION})`);
  }
  const type = frame[MAGIC.byteLength + 1]!;
  const body = frame.subarray(HEADER_BYTES);
  switch (type) {
    case CLIENT_HELLO: {
      const fixed = 1 + NONCE_BYTES + 1;
      if (body.byteLength < fixed + 1) throw new ValidationError('client-hello too short');
      const auth = flags(body[0]!);
      const length = body[fixed - 1]!;
      if (length === 0 || body.byteLength !== fixed + length) throw new ValidationError('client-hello address length mismatch');
      let address: string;
      try {
        address = new TextDecoder('utf-8', { fatal: true }).decode(body.subarray(fixed));
      } catch (cause) {
        throw new ValidationError('client-hello address is not UTF-8', { cause });
      }
      return { kind: 'client-hello', auth, nonce: copy(body.subarray(1, 1 + NONCE_BYTES)), address };
    }
    case SERVER_HELLO: {
      if (body.byteLength < 1) throw new ValidationError('server-hello too short');
      const auth = flags(body[0]!);
      if (body.byteLength !== 1 + NONCE_BYTES + (auth ? PROOF_BYTES : 0)) throw new ValidationError('server-hello has the wrong length');
      const nonce = copy(body.subarray(1, 1 + NONCE_BYTES));
      return { kind: 'server-hello', auth, nonce, proof: auth ? copy(body.subarray(1 + NONCE_BYTES)) : undefined };
    }
    case CLIENT_PROOF:
      if (body.byteLength !== PROOF_BYTES) throw new ValidationError('client-proof has the wrong length');
      return { kind: 'client-proof', proof: copy(body) };
    default:
      throw new ValidationError(`unknown handshake frame type ${type}`);
  }
}

/**
 * The proof `role` gives on the connection described by both nonces and the dialler's
 * address. Every input has a fixed length but the address, which comes last, so no two
 * transcripts concatenate to the same bytes.
 */
export function handshakeProof(
  secret: Buffer,
  role: 'client' | 'server',
  clientNonce: Buffer,
  serverNonce: Buffer,
  address: string,
): Buffer {
  return createHmac('sha256', secret)
    .update(LABELS[role])
    .update(clientNonce)
    .update(serverNonce)
    .update(address, 'utf8')
    .digest();
}

/** Compares proofs in constant time. */
export function proofsMatch(expected: Buffer, received: Buffer | undefined): boolean {
  return received !== undefined && received.byteLength === expected.byteLength && timingSafeEqual(expected, received);
}

function header(type: number): Buffer {
  return Buffer.concat([MAGIC, Buffer.of(HANDSHAKE_VERSION, type)]);
}

function flags(byte: number): boolean {
  if ((byte & ~AUTH) !== 0) throw new ValidationError(`unknown handshake flags ${byte}`);
  return byte === AUTH;
}

function checkLength(name: string, bytes: Buffer, length: number): void {
  if (!Buffer.isBuffer(bytes) || bytes.byteLength !== length) throw new ValidationError(`a ${name} must be ${length} bytes`);
}

function copy(bytes: Buffer): Buffer {
  return Buffer.from(bytes);
}
