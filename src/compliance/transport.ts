/**
 * The Transport compliance suite: the contract of `src/transport/transport.ts` as tests.
 * Every transport in libdynamo runs it, and a user's own transport can too:
 *
 * ```ts
 * import { test } from 'node:test';
 * import { transportComplianceSuite } from 'libdynamo/compliance';
 *
 * transportComplianceSuite(test, {
 *   async setup(count) {
 *     const transports = await makeMyTransports(count);
 *     return { transports, teardown: () => Promise.all(transports.map((t) => t.close())).then(() => {}) };
 *   },
 * });
 * ```
 *
 * The suite takes the test runner as an argument (as abstract-level's and js-libp2p's do),
 * so it depends on no framework; it asserts with `node:assert`. It runs on real time, with
 * timeouts of a few hundred milliseconds at most.
 * @module
 */
import assert from 'node:assert/strict';
import { DynamoError, TimeoutError, ValidationError } from '../errors.js';
import type { Message, Transport } from '../transport/transport.js';

import type { TestFn } from './test-fn.js';

/** How the suite gets transports to test, and the optional powers that gate some tests. */
export interface TransportSuiteOptions {
  /**
   * Makes `count` (two or more) transports that can reach each other, not yet listening.
   * `teardown` closes everything they made, including transports the test closed already.
   */
  setup(count: number): Promise<{
    /** The transports made: at least `count` of them. */
    transports: Transport[];
    /** Closes everything `setup` made; run after each test, whatever its outcome. */
    teardown(): Promise<void>;
  }>;
  /** Makes `address` unreachable so requests to it time out (gates the black-hole test). */
  blackhole?(address: string): void | Promise<void>;
  /**
   * How many requests `transport` still tracks (awaiting an answer); when given, the suite
   * checks that nothing leaks after answers, errors and timeouts.
   */
  pendingRequests?(transport: Transport): number;
}

/** Registers the Transport compliance tests with `test`. */
export function transportComplianceSuite(test: TestFn, options: TransportSuiteOptions): void {
  /** Runs `body` with `count` fresh transports and always tears them down. */
  const withTransports = async (count: number, body: (transports: Transport[]) => Promise<void>): Promise<void> => {
    const { transports, teardown } = await options.setup(count);
    assert.ok(transports.length >= count, `setup(${count}) returned ${transports.length} transports`);
    try {
      await body(transports);
    } finally {
      await teardown();
    }
  };
  const assertNoLeak = (transport: Transport): void => {
    if (options.pendingRequests !== undefined) assert.equal(options.pendingRequests(transport), 0, 'requests leaked');
  };
  const rig = (count: number, body: (...transports: Transport[]) => Promise<void>) => () =>
    withTransports(count, (transports) => body(...transports));

  test(
    'transport: a request and its answer arrive intact, byte strings as Uint8Array',
    rig(2, async (client, server) => {
      let received: unknown;
      await server!.listen(async (message) => {
        received = message;
        return { type: 'echo', got: message, bytes: new Uint8Array([0, 255, 7]) };
      });
      const sent: Message = {
        type: 'put',
        key: bytes(16, 1),
        value: bytes(150, 2),
        empty: new Uint8Array(0),
        numbers: [0, 1, -1, 23, 24, 255, 256, 65536, 2 ** 31, 2 ** 32 + 1, -(2 ** 40), 2 ** 53 - 1, 0.5, -1.25e-7, 1e300],
        text: ['', 'ascii', 'ünïcødé ✓', '𝄞 emoji 🚀', 'x'.repeat(1000)],
        flags: [true, false],
        nothing: null,
        nested: { a: { b: { c: [1, [2, [3, { d: bytes(3, 9) }]]] } }, list: [{ x: 1 }, { y: 'two' }] },
      };
      const answer = await client!.request(server!.address, sent, { timeoutMs: 5000 });
      assertPlainEqual(received, sent);
      assertPlainEqual(answer, { type: 'echo', got: sent, bytes: new Uint8Array([0, 255, 7]) });
      assert.notEqual(received, sent, 'the handler must get a decoded copy, not the sender’s object');
      assertNoLeak(client!);
    }),
  );

  test(
    'transport: 1000 concurrent requests are each matched to their own answer',
    rig(2, async (client, server) => {
      // Answer out of order, so matching by arrival order would fail.
      await server!.listen(async (message) => {
        const n = message['n'] as number;
        await delay(n % 7);
        return { type: 'double', n, twice: n * 2 };
      });
      const answers = await Promise.all(
        Array.from({ length: 1000 }, (_, n) => client!.request(server!.address, { type: 'double', n }, { timeoutMs: 10_000 })),
      );
      answers.forEach((answer, n) => assert.deepEqual(answer, { type: 'double', n, twice: n * 2 }));
      assertNoLeak(client!);
    }),
  );

  test(
    'transport: the handler sees the sender’s address as `from`',
    rig(3, async (server, b, c) => {
      await server!.listen(async (_message, from) => ({ type: 'whoami', from }));
      const fromB = await b!.request(server!.address, { type: 'whoami' }, { timeoutMs: 5000 });
      const fromC = await c!.request(server!.address, { type: 'whoami' }, { timeoutMs: 5000 });
      assert.equal(fromB['from'], b!.address);
      assert.equal(fromC['from'], c!.address);
    }),
  );

  test(
    'transport: handler errors come back with their code and message',
    rig(2, async (client, server) => {
      await server!.listen(async (message) => {
        switch (message.type) {
          case 'invalid':
            throw new ValidationError('key too long');
          case 'plain':
            throw new Error('disk on fire');
          case 'sync':
            return syncThrow();
          case 'string':
            throw 'not an Error object';
          case 'undefined':
            throw undefined;
          default:
            return { type: 'fine' };
        }
      });
      const ask = (type: string) => client!.request(server!.address, { type }, { timeoutMs: 5000 });
      await assert.rejects(ask('invalid'), (error: unknown) => {
        assertDynamoError(error, 'INVALID_ARGUMENT');
        assert.equal(error.message, 'key too long');
        return true;
      });
      await assert.rejects(ask('plain'), (error: unknown) => {
        assertDynamoError(error, 'REMOTE_ERROR');
        assert.match(error.message, /disk on fire/);
        return true;
      });
      await assert.rejects(ask('sync'), (error: unknown) => {
        assertDynamoError(error, 'REMOTE_ERROR');
        assert.match(error.message, /thrown synchronously/);
        return true;
      });
      for (const type of ['string', 'undefined']) {
        await assert.rejects(ask(type), (error: unknown) => {
          assertDynamoError(error, 'REMOTE_ERROR');
          assert.equal(typeof error.message, 'string');
          return true;
        });
      }
      assert.deepEqual(await ask('ok'), { type: 'fine' }, 'the transport must keep serving after errors');
      assertNoLeak(client!);
    }),
  );

  test(
    'transport: a request to an address nobody listens on is refused or times out',
    rig(3, async (client, silent, closed) => {
      await closed!.listen(async () => ({ type: 'never' }));
      await closed!.close();
      for (const to of [silent!.address, closed!.address]) {
        await assert.rejects(client!.request(to, { type: 'hello' }, { timeoutMs: 300 }), (error: unknown) => {
          assert.ok(error instanceof DynamoError, `expected a DynamoError, got ${String(error)}`);
          assert.ok(
            error.code === 'UNREACHABLE' || error instanceof TimeoutError,
            `expected UNREACHABLE or a TimeoutError, got ${error.code}`,
          );
          return true;
        });
      }
      assertNoLeak(client!);
    }),
  );

  test(
    'transport: a handler slower than the timeout gives TimeoutError, and its late answer is ignored',
    rig(2, async (client, server) => {
      await server!.listen(async (message) => {
        if (message.type === 'slow') await delay(150);
        return { type: message.type };
      });
      const started = performance.now();
      await assert.rejects(client!.request(server!.address, { type: 'slow' }, { timeoutMs: 50 }), (error: unknown) => {
        assert.ok(error instanceof TimeoutError, `expected a TimeoutError, got ${String(error)}`);
        assert.equal(error.code, 'TIMEOUT');
        return true;
      });
      // Timer granularity lets a timer fire a millisecond or so early.
      assert.ok(performance.now() - started >= 45, 'timed out before timeoutMs');
      assertNoLeak(client!);
      await delay(200); // the late answer arrives meanwhile and must go nowhere
      assert.deepEqual(await client!.request(server!.address, { type: 'fast' }, { timeoutMs: 5000 }), { type: 'fast' });
      assertNoLeak(client!);
    }),
  );

  if (options.blackhole !== undefined) {
    const blackhole = options.blackhole;
    test(
      'transport: a request into a black hole gives TimeoutError',
      rig(2, async (client, server) => {
        await server!.listen(async () => ({ type: 'unseen' }));
        await blackhole(server!.address);
        await assert.rejects(client!.request(server!.address, { type: 'lost' }, { timeoutMs: 100 }), TimeoutError);
        assertNoLeak(client!);
      }),
    );
  }

  test(
    'transport: close rejects pending requests with CLOSED and is idempotent',
    rig(2, async (client, server) => {
      let release = (): void => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      let arrived = (): void => {};
      const arrival = new Promise<void>((resolve) => (arrived = resolve));
      await server!.listen(async () => {
        arrived();
        await held;
        return { type: 'late' };
      });
      const pending = client!.request(server!.address, { type: 'hold' }, { timeoutMs: 5000 });
      await arrival;
      await client!.close();
      await assert.rejects(pending, (error: unknown) => {
        assertDynamoError(error, 'CLOSED');
        return true;
      });
      assertNoLeak(client!);
      await client!.close();
      release();
      await delay(20); // the answer now goes to a closed transport, harmlessly
      await server!.close();
      await server!.close();
    }),
  );

  test(
    'transport: a closed transport can neither send nor listen',
    rig(2, async (client, server) => {
      await server!.listen(async () => ({ type: 'ok' }));
      await client!.close();
      const isClosed = (error: unknown): boolean => {
        assertDynamoError(error, 'CLOSED');
        return true;
      };
      await assert.rejects(client!.request(server!.address, { type: 'after-close' }, { timeoutMs: 300 }), isClosed);
      await assert.rejects(client!.listen(async () => ({ type: 'no' })), isClosed);
    }),
  );

  test(
    'transport: 1 MiB payloads travel both ways byte-exact',
    rig(2, async (client, server) => {
      const big = bytes(1 << 20, 5);
      await server!.listen(async (message) => {
        const payload = message['payload'];
        assert.ok(payload instanceof Uint8Array);
        return { type: 'big', payload: payload.slice().reverse() };
      });
      const answer = await client!.request(server!.address, { type: 'big', payload: big }, { timeoutMs: 10_000 });
      const back = answer['payload'];
      assert.ok(back instanceof Uint8Array, 'a byte string must arrive as a Uint8Array');
      assert.equal(back.byteLength, big.byteLength);
      assert.ok(Buffer.from(back).equals(Buffer.from(big.slice().reverse())), 'payload changed on the way');
    }),
  );
}

function syncThrow(): never {
  throw new Error('thrown synchronously');
}

function assertDynamoError(error: unknown, code: string): asserts error is DynamoError {
  assert.ok(error instanceof DynamoError, `expected a DynamoError, got ${String(error)}`);
  assert.equal(error.code, code);
}

/**
 * deepStrictEqual, except that any Uint8Array (a Buffer too: the contract says only
 * "Uint8Array") compares by its bytes. A byte string arriving as anything else fails.
 */
function assertPlainEqual(actual: unknown, expected: unknown): void {
  assert.deepStrictEqual(normalise(actual), normalise(expected));
}

function normalise(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex') };
  if (Array.isArray(value)) return value.map(normalise);
  // Anything but a plain object stays as it is, so its prototype fails the comparison.
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, normalise(field)]));
  }
  return value;
}

/** Deterministic, varied bytes (not all zero, so byte order mistakes show). */
function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let state = seed * 2654435761;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
