/**
 * Fuzz: thousands of random and mutated frames on raw sockets at a listening TcpTransport.
 * Each case gets a fresh connection (after a proper handshake, mostly, so the bytes reach
 * the frame decoder) and is followed by a valid probe request. The listener must either
 * answer (the probe, and the case if it was a valid request) or drop the connection —
 * never crash, hang, or call its handler with anything but a message — and must serve a
 * real TcpTransport afterwards.
 *
 * Seeded: `FUZZ_SEED=123 node scripts/run-tests.mjs tcp-fuzz` replays a run, and a failure
 * names its seed. `FUZZ_CASES` changes the number of cases (default 10000).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Encoder } from 'cbor-x';
import { decodeFrame, encodeFrame } from '../../src/codec/wire.js';
import { DynamoError } from '../../src/errors.js';
import type { Message } from '../../src/transport/transport.js';
import { TcpTransport } from '../../src/transport/tcp.js';
import { decodeHandshake, encodeClientHello, newNonce } from '../../src/transport/tcp-handshake.js';
import { randomInt, seededRandom, type Random } from '../../src/time/random.js';
import { RawConnection, prefixed, rawServer } from '../fixtures/tcp-raw.js';

const SEED = process.env['FUZZ_SEED'] === undefined ? Math.floor(Math.random() * 2 ** 32) : Number(process.env['FUZZ_SEED']);
const CASES = Number(process.env['FUZZ_CASES'] ?? 10_000);
const WORKERS = 48;
const MAX_FRAME = 64 * 1024;
const PROBE_ID = 4_000_000_000;
/**
 * How long a case may stay silent before the fuzzer ends its side: short where the listener
 * may rightly be waiting for the rest of a frame cut short, long where it must act alone.
 */
const QUIET_MS = { stall: 100, either: 100, answer: 3000, drop: 3000 } as const;
/** How long the listener may take to close after the fuzzer ended its side. */
const CLOSE_MS = 3000;

/** Plain CBOR, no records or tags for byte strings, like the wire's encoder. */
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });

/**
 * What the listener must do with a case: `answer` it (and the probe), `drop` the
 * connection on its own, or `either` (random mutations). `stall` cases are frames cut
 * short: the listener waits for the rest, so the fuzzer ends the stream and then it drops.
 */
type Expect = 'answer' | 'drop' | 'stall' | 'either';

interface Case {
  readonly name: string;
  readonly bytes: Buffer;
  readonly expect: Expect;
  /** Send the bytes instead of the handshake. */
  readonly raw: boolean;
  /** Ids of the requests in the case that must be answered. */
  readonly ids: readonly number[];
}

function randomString(random: Random): string {
  const alphabet = ['a', 'Z', '0', ' ', 'é', '✓', '𝄞', '\u0000', '"', '\\'];
  return Array.from({ length: randomInt(random, 12) }, () => alphabet[randomInt(random, alphabet.length)]!).join('');
}

function randomValue(random: Random, depth: number): unknown {
  switch (randomInt(random, depth > 2 ? 6 : 8)) {
    case 0:
      return randomInt(random, 2 ** 20) - 2 ** 19;
    case 1:
      return random() * 1e6;
    case 2:
      return randomString(random);
    case 3:
      return randomBytes(random, randomInt(random, 40));
    case 4:
      return [null, true, false, undefined][randomInt(random, 4)];
    case 5:
      return BigInt(randomInt(random, 2 ** 30)) * 2n ** 40n;
    case 6:
      return Array.from({ length: randomInt(random, 4) }, () => randomValue(random, depth + 1));
    default:
      return Object.fromEntries(Array.from({ length: randomInt(random, 4) }, () => [`k${randomString(random)}`, randomValue(random, depth + 1)]));
  }
}

function randomMessage(random: Random): Message {
  return { type: randomString(random), ...(randomValue(random, 1) as object), data: randomValue(random, 1) } as Message;
}

function randomBytes(random: Random, length: number): Uint8Array {
  return Uint8Array.from({ length }, () => randomInt(random, 256));
}

function validRequest(random: Random, id: number): Uint8Array {
  return encodeFrame({ kind: 'request', id, message: randomMessage(random) });
}

/**
 * Shared-reference tags (RFC 8949 registry, tags 28/29) nesting `levels` deep: each level is
 * `[level below, reference to it]`, so the value expands to 2^levels items from ~8 bytes
 * per level. The frame is `[1, 0, 1, { type: 'x', b: bomb }]`.
 */
function referenceBomb(levels: number): Buffer {
  const uint = (n: number) => (n < 24 ? [n] : [0x18, n]);
  const head = [0x84, 0x01, 0x00, 0x01, 0xa2, 0x64, ...Buffer.from('type'), 0x61, 0x78, 0x61, 0x62];
  const open: number[] = [];
  for (let i = 0; i < levels; i++) open.push(0xd8, 0x1c, 0x82); // shareable [ … , … ]
  const innermost = [0xd8, 0x1c, 0x80]; // shareable []
  const close: number[] = [];
  for (let i = levels - 1; i >= 0; i--) close.push(0xd8, 0x1d, ...uint(i + 1)); // reference to the level inside
  return Buffer.from([...head, ...open, ...innermost, ...close]);
}

/** Valid CBOR that is not a well-formed request: each must be dropped. */
function wrongShape(random: Random): Uint8Array {
  const id = randomInt(random, 1000);
  const message = randomMessage(random);
  const shapes: (() => unknown)[] = [
    () => [1, 0, id],
    () => [1, 0, id, message, 'extra'],
    () => [2, 0, id, message],
    () => [0, 0, id, message],
    () => [1, 0, -1, message],
    () => [1, 0, 1.5, message],
    () => [1, 0, 2 ** 60, message],
    () => [1, 0, 'id', message],
    () => [1, 0, id, 'not a message'],
    () => [1, 0, id, [message]],
    () => [1, 0, id, { ...message, type: 7 }],
    () => [1, 0, id, { notype: true }],
    () => [1, 0, id, { type: 'date', at: new Date(0) }],
    () => [1, 0, id, { type: 'map', m: new Map([[1, 2]]) }],
    () => [1, 0, id, { type: 'set', s: new Set([1]) }],
    () => [1, 1, id, message], // a reply sent to a listener
    () => [1, 2, id, 'CODE', 'text'], // an error sent to a listener
    () => [1, 2, id, 3, 'text'],
    () => ({ type: 'an object, not an array' }),
    () => 42,
    () => 'a string',
    () => null,
    () => [],
    () => new Uint8Array(8),
    () => [1, 0, id, nest(70)],
  ];
  return cbor.encode(shapes[randomInt(random, shapes.length)]!());
}

function nest(depth: number): unknown {
  let value: unknown = { type: 'deep' };
  for (let i = 0; i < depth; i++) value = { type: 'deep', inner: value };
  return value;
}

/** One random mutation of `bytes`: flips, insertions, deletions, truncation, duplication. */
function mutate(random: Random, bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  switch (randomInt(random, 5)) {
    case 0: {
      for (let i = 0, n = 1 + randomInt(random, 4); i < n; i++) {
        const at = randomInt(random, out.byteLength);
        out[at] = out[at]! ^ (1 << randomInt(random, 8));
      }
      return out;
    }
    case 1: {
      const at = randomInt(random, out.byteLength + 1);
      return Buffer.concat([out.subarray(0, at), Buffer.from(randomBytes(random, 1 + randomInt(random, 8))), out.subarray(at)]);
    }
    case 2: {
      const at = randomInt(random, out.byteLength);
      return Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + randomInt(random, 8))]);
    }
    case 3:
      return out.subarray(0, randomInt(random, out.byteLength));
    default:
      return Buffer.concat([out, out.subarray(randomInt(random, out.byteLength))]);
  }
}

/** The `index`th case, a pure function of the stream `random` is at. */
function makeCase(random: Random, index: number): Case {
  const id = index + 1;
  const pick = randomInt(random, 100);
  if (pick < 12) {
    return { name: 'valid request', bytes: prefixed(validRequest(random, id)), expect: 'answer', raw: false, ids: [id] };
  }
  if (pick < 17) {
    const count = 2 + randomInt(random, 5);
    const ids = Array.from({ length: count }, (_, i) => id * 10 + i);
    return { name: 'pipelined requests', bytes: Buffer.concat(ids.map((n) => prefixed(validRequest(random, n)))), expect: 'answer', raw: false, ids };
  }
  if (pick < 25) {
    const frame = validRequest(random, id);
    const cut = randomInt(random, frame.byteLength);
    return { name: 'truncated body', bytes: prefixed(frame.subarray(0, cut)), expect: cut === 0 ? 'drop' : 'drop', raw: false, ids: [] };
  }
  if (pick < 30) {
    const frame = prefixed(validRequest(random, id));
    // The prefix promises more bytes than will ever come (the probe's are swallowed too).
    return { name: 'short stream', bytes: frame.subarray(0, 4 + randomInt(random, frame.byteLength - 4)), expect: 'stall', raw: false, ids: [] };
  }
  if (pick < 37) {
    const length = MAX_FRAME + 1 + randomInt(random, 2 ** 32 - MAX_FRAME - 2);
    const bytes = Buffer.alloc(4 + randomInt(random, 64));
    bytes.writeUInt32BE(length, 0);
    return { name: 'oversized length prefix', bytes, expect: 'drop', raw: false, ids: [] };
  }
  if (pick < 39) {
    return { name: 'zero length prefix', bytes: Buffer.concat([Buffer.alloc(4), Buffer.from(randomBytes(random, 8))]), expect: 'drop', raw: false, ids: [] };
  }
  if (pick < 49) {
    const garbage = Buffer.from(randomBytes(random, 1 + randomInt(random, 200)));
    // A leading CBOR array of four would rarely, by luck, be a valid frame; make sure it is not.
    garbage[0] = 0xff;
    return { name: 'bad CBOR', bytes: prefixed(garbage), expect: 'drop', raw: false, ids: [] };
  }
  if (pick < 61) {
    return { name: 'valid CBOR, wrong shape', bytes: prefixed(wrongShape(random)), expect: 'drop', raw: false, ids: [] };
  }
  if (pick < 67) {
    const kind = [3, 4, 7, 23, 24, 255, 1000, -1][randomInt(random, 8)]!;
    return { name: 'unknown kind', bytes: prefixed(cbor.encode([1, kind, id, randomMessage(random)])), expect: 'drop', raw: false, ids: [] };
  }
  if (pick < 68) {
    return { name: 'shared-reference bomb', bytes: prefixed(referenceBomb(40)), expect: 'drop', raw: false, ids: [] };
  }
  if (pick < 88) {
    const base = prefixed(validRequest(random, id));
    return { name: 'mutated request', bytes: mutate(random, base), expect: 'either', raw: false, ids: [] };
  }
  if (pick < 92) {
    return { name: 'random stream', bytes: Buffer.from(randomBytes(random, 1 + randomInt(random, 300))), expect: 'either', raw: false, ids: [] };
  }
  if (pick < 97) {
    const hello = prefixed(encodeClientHello(false, newNonceFrom(random), '127.0.0.1:1'));
    return { name: 'mutated handshake', bytes: mutate(random, hello), expect: 'either', raw: true, ids: [] };
  }
  return { name: 'request before any handshake', bytes: prefixed(validRequest(random, id)), expect: 'drop', raw: true, ids: [] };
}

function newNonceFrom(random: Random): Buffer {
  return Buffer.from(randomBytes(random, newNonce().byteLength));
}

interface Outcome {
  /** Ids answered, in arrival order. */
  readonly answered: number[];
  /** The listener closed the connection without the fuzzer ending its side first. */
  readonly droppedByListener: boolean;
  /** The fuzzer had to end its side after a quiet spell. */
  readonly endedByFuzzer: boolean;
}

async function runCase(address: string, fuzz: Case): Promise<Outcome> {
  const connection = await RawConnection.connect(address);
  try {
    if (!fuzz.raw) await connection.dialHandshake();
    connection.send(fuzz.bytes);
    if (!fuzz.raw) connection.sendFrame(encodeFrame({ kind: 'request', id: PROBE_ID, message: { type: 'probe' } }));
    const answered: number[] = [];
    let endedByFuzzer = false;
    for (;;) {
      const frame = await connection.nextFrame(endedByFuzzer ? CLOSE_MS : QUIET_MS[fuzz.expect]);
      if (frame !== undefined) {
        if (fuzz.raw) {
          // A mutated hello may still be a valid one: the listener answers with its own hello.
          assert.equal(decodeHandshake(frame).kind, 'server-hello');
          continue;
        }
        const decoded = decodeFrame(frame);
        answered.push(decoded.id);
        if (decoded.id === PROBE_ID) break;
        continue;
      }
      if (connection.isClosed) break;
      if (endedByFuzzer) throw new Error(`the listener neither answered nor closed within ${CLOSE_MS} ms of the end of the stream`);
      endedByFuzzer = true;
      connection.socket.end();
    }
    return { answered, droppedByListener: connection.isClosed && !endedByFuzzer, endedByFuzzer };
  } finally {
    connection.destroy();
  }
}

function check(fuzz: Case, outcome: Outcome): void {
  const probeAnswered = outcome.answered.includes(PROBE_ID);
  switch (fuzz.expect) {
    case 'answer':
      assert.deepEqual(outcome.answered, [...fuzz.ids, PROBE_ID], 'every request and then the probe answered, in order');
      break;
    case 'drop':
      assert.ok(!probeAnswered && outcome.answered.length === 0, `answered ${outcome.answered.join()}`);
      assert.ok(outcome.droppedByListener, 'the listener must drop the connection by itself');
      break;
    case 'stall':
      assert.ok(!probeAnswered, 'the probe was swallowed by the frame cut short, so it cannot be answered');
      break;
    case 'either':
      break;
  }
}

test(`fuzz: ${CASES} random and mutated frames never crash, hang or confuse the listener (seed ${SEED})`, { timeout: 300_000 }, async (t) => {
  const trouble: unknown[] = [];
  const onTrouble = (error: unknown) => void trouble.push(error);
  process.on('uncaughtException', onTrouble);
  process.on('unhandledRejection', onTrouble);
  const server = new TcpTransport({ host: '127.0.0.1', port: 0, maxFrameBytes: MAX_FRAME, connectTimeoutMs: 2000 });
  const client = new TcpTransport({ host: '127.0.0.1', port: 0, maxFrameBytes: MAX_FRAME });
  let served = 0;
  let malformed = 0;
  try {
    await server.listen(async (message, from) => {
      served++;
      if (typeof message !== 'object' || message === null || typeof message.type !== 'string' || typeof from !== 'string') malformed++;
      return { type: 'ok' };
    });
    const random = seededRandom(SEED);
    const cases = Array.from({ length: CASES }, (_, i) => makeCase(random, i));
    const tally = new Map<string, { cases: number; answered: number; dropped: number; ended: number }>();
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < cases.length; i = next++) {
        const fuzz = cases[i]!;
        let outcome: Outcome;
        try {
          outcome = await runCase(server.address, fuzz);
          check(fuzz, outcome);
        } catch (error) {
          throw new Error(`case ${i} (${fuzz.name}, ${fuzz.bytes.toString('hex').slice(0, 200)}) failed with FUZZ_SEED=${SEED}: ${(error as Error).message}`, { cause: error });
        }
        const row = tally.get(fuzz.name) ?? { cases: 0, answered: 0, dropped: 0, ended: 0 };
        row.cases++;
        if (outcome.answered.includes(PROBE_ID)) row.answered++;
        if (outcome.droppedByListener) row.dropped++;
        if (outcome.endedByFuzzer) row.ended++;
        tally.set(fuzz.name, row);
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, worker));
    for (const [name, row] of [...tally].sort()) {
      t.diagnostic(`${name}: ${row.cases} cases, ${row.answered} answered, ${row.dropped} dropped by the listener, ${row.ended} ended by the fuzzer`);
    }

    assert.equal(malformed, 0, `FUZZ_SEED=${SEED}: the handler saw something that is not a message`);
    assert.ok(served > 0);
    for (let n = 0; n < 20; n++) {
      assert.deepEqual(await client.request(server.address, { type: 'after', n }, { timeoutMs: 2000 }), { type: 'ok' });
    }
    assert.deepEqual(trouble, [], `FUZZ_SEED=${SEED}: uncaught errors or unhandled rejections`);
  } finally {
    process.off('uncaughtException', onTrouble);
    process.off('unhandledRejection', onTrouble);
    await Promise.all([server.close(), client.close()]);
  }
});

/** What the dialler must make of a fuzzed answer. */
type DialExpect =
  | { readonly kind: 'resolve'; readonly message: Message }
  | { readonly kind: 'reject'; readonly code: string }
  | { readonly kind: 'either' };

interface DialCase {
  readonly name: string;
  /** The bytes to answer the request with `id`. */
  answer(id: number): Buffer;
  readonly expect: DialExpect;
}

const DIAL_TIMEOUT_MS = 150;

function makeDialCase(random: Random): DialCase {
  const message = randomMessage(random);
  const reply = (id: number) => prefixed(encodeFrame({ kind: 'reply', id, message }));
  const pick = randomInt(random, 100);
  // Mutations are drawn now, from the seeded stream, and applied to whatever id comes.
  const mutationSeed = randomInt(random, 2 ** 32);
  if (pick < 15) return { name: 'valid reply', answer: reply, expect: { kind: 'resolve', message } };
  if (pick < 22) {
    const code = ['REMOTE_ERROR', 'INVALID_ARGUMENT', 'QUORUM_FAILED', randomString(random)][randomInt(random, 4)]!;
    const text = randomString(random);
    return {
      name: 'error frame',
      answer: (id) => prefixed(encodeFrame({ kind: 'error', id, error: { code, message: text } })),
      expect: { kind: 'reject', code },
    };
  }
  if (pick < 27) {
    return { name: 'reply, then a duplicate', answer: (id) => Buffer.concat([reply(id), reply(id)]), expect: { kind: 'resolve', message } };
  }
  if (pick < 32) {
    // An answer to a request this dialler never made: ignored, and the real one never comes.
    return { name: 'reply with a stranger id', answer: (id) => reply(id + 1_000_000), expect: { kind: 'reject', code: 'TIMEOUT' } };
  }
  if (pick < 40) {
    return { name: 'reply cut short', answer: (id) => { const r = reply(id); return r.subarray(0, 4 + randomInt(seededRandom(mutationSeed), r.byteLength - 4)); }, expect: { kind: 'reject', code: 'TIMEOUT' } };
  }
  if (pick < 48) {
    return { name: 'oversized length prefix', answer: () => Buffer.from([0xff, 0xff, 0xff, 0xf0, 1, 2, 3]), expect: { kind: 'reject', code: 'CLOSED' } };
  }
  if (pick < 58) {
    const garbage = Buffer.from(randomBytes(random, 1 + randomInt(random, 100)));
    garbage[0] = 0xff;
    return { name: 'bad CBOR', answer: () => prefixed(garbage), expect: { kind: 'reject', code: 'CLOSED' } };
  }
  if (pick < 68) {
    return { name: 'valid CBOR, wrong shape', answer: () => prefixed(wrongShapeAnswer(seededRandom(mutationSeed))), expect: { kind: 'reject', code: 'CLOSED' } };
  }
  if (pick < 72) {
    return { name: 'a request sent to the dialler', answer: (id) => prefixed(encodeFrame({ kind: 'request', id, message })), expect: { kind: 'reject', code: 'CLOSED' } };
  }
  return { name: 'mutated reply', answer: (id) => mutate(seededRandom(mutationSeed), reply(id)), expect: { kind: 'either' } };
}

/** Valid CBOR that no dialler may accept as an answer. */
function wrongShapeAnswer(random: Random): Uint8Array {
  const shapes: unknown[] = [
    [1, 1, 1],
    [2, 1, 1, { type: 'x' }],
    [1, 1, -1, { type: 'x' }],
    [1, 1, 1, 'text'],
    [1, 1, 1, { type: 3 }],
    [1, 2, 1, 'CODE'],
    [1, 2, 1, 'CODE', 7],
    [1, 9, 1, { type: 'x' }],
    { type: 'x' },
    'text',
  ];
  return cbor.encode(shapes[randomInt(random, shapes.length)]);
}

test(`fuzz: ${Math.round(CASES / 5)} random and mutated answers never crash or hang the dialler (seed ${SEED})`, { timeout: 300_000 }, async () => {
  const trouble: unknown[] = [];
  const onTrouble = (error: unknown) => void trouble.push(error);
  process.on('uncaughtException', onTrouble);
  process.on('unhandledRejection', onTrouble);
  const random = seededRandom(SEED ^ 0x5eed);
  const cases = Array.from({ length: Math.round(CASES / 5) }, () => makeDialCase(random));
  // The raw listener answers each request with its case's bytes; the case index rides in the message.
  const liar = await rawServer((connection) => {
    void (async () => {
      await connection.listenHandshake();
      for (;;) {
        const request = await connection.nextFrame(10_000);
        if (request === undefined) return;
        const frame = decodeFrame(request);
        if (frame.kind !== 'request') return;
        connection.send(cases[frame.message['i'] as number]!.answer(frame.id));
      }
    })().catch(() => connection.destroy());
  });
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < cases.length; i = next++) {
        const fuzz = cases[i]!;
        const client = new TcpTransport({ host: '127.0.0.1', port: 0, maxFrameBytes: MAX_FRAME });
        try {
          const outcome = await client.request(liar.address, { type: 'case', i }, { timeoutMs: DIAL_TIMEOUT_MS }).then(
            (message) => ({ message }),
            (error: unknown) => ({ error }),
          );
          if ('error' in outcome) assert.ok(outcome.error instanceof DynamoError, `rejected with a non-DynamoError: ${String(outcome.error)}`);
          switch (fuzz.expect.kind) {
            case 'resolve':
              assert.deepEqual('message' in outcome ? outcome.message : outcome.error, fuzz.expect.message);
              break;
            case 'reject':
              assert.ok('error' in outcome, 'must reject');
              assert.equal((outcome.error as DynamoError).code, fuzz.expect.code);
              break;
            case 'either':
              break;
          }
          assert.equal(client.pendingRequests, 0);
        } catch (error) {
          throw new Error(`dialler case ${i} (${fuzz.name}) failed with FUZZ_SEED=${SEED}: ${(error as Error).message}`, { cause: error });
        } finally {
          await client.close();
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    assert.deepEqual(trouble, [], `FUZZ_SEED=${SEED}: uncaught errors or unhandled rejections`);
  } finally {
    process.off('uncaughtException', onTrouble);
    process.off('unhandledRejection', onTrouble);
    await liar.close();
  }
});
