import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeFrame } from '../../src/codec/wire.js';
import { DynamoError, TimeoutError, ValidationError } from '../../src/errors.js';
import { ManualClock } from '../../src/time/clock.js';
import { InMemoryNetwork, type InMemoryNetworkOptions, type InMemoryTransport } from '../../src/transport/memory.js';
import type { Message, Transport } from '../../src/transport/transport.js';
import { transportComplianceSuite } from '../compliance/transport.js';

describe('InMemoryNetwork passes the Transport compliance suite', () => {
  let network = new InMemoryNetwork();
  transportComplianceSuite(test, {
    async setup(count) {
      network = new InMemoryNetwork();
      const transports = Array.from({ length: count }, (_, i) => network.transport(`node-${i}`));
      return { transports, teardown: async () => void (await Promise.all(transports.map((t) => t.close()))) };
    },
    blackhole: (address) => network.isolate(address),
    pendingRequests: (transport) => (transport as InMemoryTransport).pendingRequests,
  });
});

/** A network on a ManualClock, with its transports named as asked. */
function rig(options: Omit<InMemoryNetworkOptions, 'clock'> = {}, ...addresses: string[]) {
  const clock = new ManualClock();
  const net = new InMemoryNetwork({ seed: 1, ...options, clock });
  const transports = addresses.map((address) => net.transport(address));
  return { clock, net, transports };
}

/** Observes a promise without awaiting it, so a test can step the clock in between. */
function watch<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown; at?: number } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

const echo = async (message: Message): Promise<Message> => ({ type: 'echo', n: message['n'] });
const ask = (from: Transport, to: string, n = 0, timeoutMs = 1000) => from.request(to, { type: 'ask', n }, { timeoutMs });

describe('InMemoryNetwork options', () => {
  test('nonsense is refused with a ValidationError naming the option', () => {
    const bad: [unknown, RegExp][] = [
      [{ latencyMs: [-1, 5] }, /latencyMs/],
      [{ latencyMs: [10, 5] }, /latencyMs/],
      [{ latencyMs: [0, Infinity] }, /latencyMs/],
      [{ latencyMs: [Number.NaN, 1] }, /latencyMs/],
      [{ latencyMs: [1] }, /latencyMs/],
      [{ latencyMs: 5 }, /latencyMs/],
      [{ dropRate: -0.1 }, /dropRate/],
      [{ dropRate: 1.5 }, /dropRate/],
      [{ dropRate: Number.NaN }, /dropRate/],
      [{ seed: 1.5 }, /seed/],
      [{ clock: {} }, /clock/],
      [{ random: 0.5 }, /random/],
    ];
    for (const [options, pattern] of bad) {
      assert.throws(() => new InMemoryNetwork(options as InMemoryNetworkOptions), (error: unknown) => {
        assert.ok(error instanceof ValidationError);
        assert.match(error.message, pattern);
        return true;
      });
    }
  });

  test('the bounds themselves are accepted, and the seed is kept for replay', () => {
    new InMemoryNetwork({ latencyMs: [0, 0], dropRate: 0 });
    new InMemoryNetwork({ latencyMs: [5, 5], dropRate: 1 });
    assert.equal(new InMemoryNetwork({ seed: 42 }).seed, 42);
    assert.equal(typeof new InMemoryNetwork().seed, 'number');
    assert.equal(new InMemoryNetwork({ random: () => 0.5 }).seed, undefined);
  });

  test('one live transport per address; a closed one can be replaced, as by a restart', async () => {
    const { net, transports } = rig({}, 'a');
    assert.throws(() => net.transport('a'), ValidationError);
    assert.throws(() => net.transport(''), ValidationError);
    await transports[0]!.close();
    const restarted = net.transport('a');
    assert.notEqual(restarted, transports[0]);
    assert.equal(restarted.address, 'a');
  });
});

describe('InMemoryNetwork delivery', () => {
  test('delivery is asynchronous and the handler gets a decoded copy', async () => {
    const { clock, transports } = rig({}, 'a', 'b');
    const [a, b] = transports;
    let received: Message | undefined;
    await b!.listen(async (message) => {
      received = message;
      return { type: 'ok' };
    });
    const payload = new Uint8Array([1, 2, 3]);
    const sent = { type: 'put', payload };
    const reply = watch(a!.request('b', sent, { timeoutMs: 100 }));
    assert.equal(received, undefined, 'the handler must not run inside request()');
    await clock.advance(0);
    assert.ok(reply.settled);
    assert.deepEqual(received, sent);
    assert.notEqual(received, sent);
    assert.notEqual(received!['payload'], payload);
  });

  test('a request with 10 ms latency each way resolves at exactly t=20', async () => {
    const { clock, transports } = rig({ latencyMs: [10, 10] }, 'a', 'b');
    const [a, b] = transports;
    let arrivedAt = -1;
    await b!.listen(async () => {
      arrivedAt = clock.now();
      return { type: 'ok' };
    });
    const reply = watch(a!.request('b', { type: 'ask' }, { timeoutMs: 100 }).then(() => clock.now()));
    await clock.advance(19);
    assert.equal(arrivedAt, 10);
    assert.equal(reply.settled, false);
    await clock.advance(1);
    assert.equal(reply.value, 20);
    assert.equal(a!.pendingRequests, 0);
    assert.equal(clock.pending, 0, 'the timeout timer must be cleared on answer');
  });

  test('latencies are drawn uniformly within [min, max]', async () => {
    const { clock, transports } = rig({ latencyMs: [5, 15], seed: 7 }, 'a', 'b');
    const [a, b] = transports;
    const arrivals: number[] = [];
    await b!.listen(async () => {
      arrivals.push(clock.now());
      return { type: 'ok' };
    });
    for (let n = 0; n < 400; n++) void ask(a!, 'b', n);
    await clock.advance(100);
    assert.equal(arrivals.length, 400);
    assert.ok(arrivals.every((t) => t >= 5 && t <= 15));
    const low = arrivals.filter((t) => t < 10).length;
    assert.ok(low > 150 && low < 250, `expected about half below the midpoint, got ${low}/400`);
  });

  test('a request to an address nobody listens on is refused after one round trip, not a timeout', async () => {
    const { clock, net, transports } = rig({ latencyMs: [10, 10] }, 'a', 'idle', 'gone');
    const [a, , gone] = transports;
    await gone!.listen(echo);
    await gone!.close();
    const outcomes = ['nobody', 'idle', 'gone'].map((to) => watch(a!.request(to, { type: 'x' }, { timeoutMs: 1000 })));
    await clock.advance(20);
    for (const outcome of outcomes) {
      assert.ok(outcome.settled);
      assert.ok(outcome.error instanceof DynamoError);
      assert.equal(outcome.error.code, 'UNREACHABLE');
    }
    assert.equal(a!.pendingRequests, 0);
    assert.equal(net.stats.dropped, 0);
  });

  test('an unencodable message is refused at the sender and never sent', async () => {
    const { net, transports } = rig({}, 'a', 'b');
    await transports[1]!.listen(echo);
    await assert.rejects(transports[0]!.request('b', { type: 'x', when: new Date() }, { timeoutMs: 100 }), ValidationError);
    await assert.rejects(transports[0]!.request('b', { type: 'x' }, { timeoutMs: 0 }), ValidationError);
    await assert.rejects(transports[0]!.request('b', { type: 'x' }, { timeoutMs: Number.NaN }), ValidationError);
    await assert.rejects(transports[0]!.request('', { type: 'x' }, { timeoutMs: 100 }), ValidationError);
    assert.equal(net.stats.messages, 0);
    assert.equal(transports[0]!.pendingRequests, 0);
  });

  test('handler failures come back cleanly, whatever was thrown', async () => {
    const { clock, transports } = rig({}, 'a', 'b');
    const [a, b] = transports;
    const unprintable = {
      toString() {
        throw new Error('no');
      },
      get message(): string {
        throw new Error('no');
      },
    };
    await b!.listen(async (message) => {
      switch (message.type) {
        case 'quorum':
          throw new DynamoError('QUORUM_FAILED', 'only 1 of 2');
        case 'unprintable':
          throw unprintable;
        case 'symbol':
          throw Symbol('odd');
        case 'bad-answer':
          return { type: 'x', when: new Date() };
        case 'no-answer':
          return undefined as unknown as Message;
        default:
          return { type: 'ok' };
      }
    });
    const expect: [string, string, RegExp][] = [
      ['quorum', 'QUORUM_FAILED', /only 1 of 2/],
      ['unprintable', 'REMOTE_ERROR', /non-Error|cannot be printed/],
      ['symbol', 'REMOTE_ERROR', /Symbol\(odd\)/],
      ['bad-answer', 'REMOTE_ERROR', /invalid answer.*Date/],
      ['no-answer', 'REMOTE_ERROR', /invalid answer/],
    ];
    const outcomes = expect.map(([type]) => watch(a!.request('b', { type }, { timeoutMs: 100 })));
    await clock.advance(0);
    expect.forEach(([type, code, pattern], i) => {
      const { error } = outcomes[i]!;
      assert.ok(error instanceof DynamoError, type);
      assert.equal(error.code, code, type);
      assert.match(error.message, pattern, type);
    });
  });

  test('a serving transport closed mid-request sends nothing; the requester times out', async () => {
    const { clock, net, transports } = rig({}, 'a', 'b');
    const [a, b] = transports;
    await b!.listen(async () => {
      await b!.close();
      return { type: 'too-late' };
    });
    const reply = watch(a!.request('b', { type: 'x' }, { timeoutMs: 50 }));
    await clock.advance(50);
    assert.ok(reply.error instanceof TimeoutError);
    assert.equal(net.stats.messages, 1);
  });
});

describe('InMemoryNetwork partitions', () => {
  test('members of different groups cannot reach each other, nor members in no group', () => {
    const { net } = rig();
    net.partition(['a', 'b'], ['c']);
    assert.ok(net.canReach('a', 'b') && net.canReach('b', 'a'));
    assert.ok(!net.canReach('a', 'c') && !net.canReach('c', 'a'));
    assert.ok(!net.canReach('d', 'a') && !net.canReach('a', 'd'), 'd is in no group');
    assert.ok(!net.canReach('d', 'e'), 'two members in no group are not a group');
    assert.ok(net.canReach('d', 'd') && net.canReach('c', 'c'), 'everyone reaches itself');
    assert.throws(() => net.partition(['a'], ['a', 'b']), ValidationError);
    net.heal();
    assert.ok(net.canReach('a', 'c') && net.canReach('d', 'e'));
  });

  test('isolate cuts one member off on top of the partition; heal undoes both', () => {
    const { net } = rig();
    net.partition(['a', 'b'], ['c', 'd']);
    net.isolate('a');
    assert.ok(!net.canReach('a', 'b') && !net.canReach('b', 'a'));
    assert.ok(net.canReach('c', 'd') && !net.canReach('b', 'c'));
    net.heal();
    net.isolate('c');
    assert.ok(net.canReach('a', 'b') && !net.canReach('a', 'c') && !net.canReach('c', 'd'));
    net.partition(['a', 'b', 'c']);
    assert.ok(net.canReach('a', 'c'), 'a new partition replaces the old state, isolation included');
    net.heal();
    assert.ok(net.canReach('a', 'c') && net.canReach('c', 'd'));
  });

  test('requests across a partition are lost and time out; after heal they pass', async () => {
    const { clock, net, transports } = rig({}, 'a', 'b', 'c');
    const [a, b, c] = transports;
    await b!.listen(echo);
    await c!.listen(echo);
    net.partition(['a', 'b'], ['c']);
    const near = watch(ask(a!, 'b', 1, 100));
    const far = watch(ask(a!, 'c', 2, 100));
    await clock.advance(99);
    assert.deepEqual(near.value, { type: 'echo', n: 1 });
    assert.equal(far.settled, false, 'a lost message is silent until the timeout');
    await clock.advance(1);
    assert.ok(far.error instanceof TimeoutError);
    assert.equal(net.stats.dropped, 1);
    net.heal();
    assert.deepEqual(await settleWith(clock, ask(a!, 'c', 3, 100)), { type: 'echo', n: 3 });
  });

  test('a request to a non-listening address across a partition times out: the network cannot tell', async () => {
    const { clock, net, transports } = rig({}, 'a');
    net.isolate('a');
    const outcome = watch(ask(transports[0]!, 'nobody', 0, 100));
    await clock.advance(100);
    assert.ok(outcome.error instanceof TimeoutError);
  });

  test('a reply whose path is cut after the request arrived is lost', async () => {
    const { clock, net, transports } = rig({}, 'a', 'b');
    const [a, b] = transports;
    await b!.listen(async () => {
      net.isolate('a');
      return { type: 'lost' };
    });
    const outcome = watch(ask(a!, 'b', 0, 100));
    await clock.advance(100);
    assert.ok(outcome.error instanceof TimeoutError);
    assert.deepEqual(net.stats, { messages: 2, bytes: net.stats.bytes, dropped: 1 });
  });

  test('a message in flight when the link is cut is lost', async () => {
    const { clock, net, transports } = rig({ latencyMs: [10, 10] }, 'a', 'b');
    const [a, b] = transports;
    let served = 0;
    await b!.listen(async () => {
      served++;
      return { type: 'ok' };
    });
    const outcome = watch(ask(a!, 'b', 0, 100));
    await clock.advance(5);
    net.partition(['a'], ['b']);
    await clock.advance(10);
    net.heal();
    await clock.advance(100);
    assert.equal(served, 0);
    assert.ok(outcome.error instanceof TimeoutError);
    assert.equal(net.stats.dropped, 1);
  });
});

describe('InMemoryNetwork loss, stats and replay', () => {
  test('dropRate loses about that share of messages, the same ones for the same seed', async () => {
    const run = async (seed: number) => {
      const { clock, net, transports } = rig({ dropRate: 0.3, seed }, 'a', 'b');
      await transports[1]!.listen(echo);
      const outcomes = Array.from({ length: 3000 }, (_, n) => watch(ask(transports[0]!, 'b', n, 50)));
      await clock.advance(50);
      const answered = outcomes.map((o) => o.error === undefined);
      return { stats: net.stats, answered };
    };
    const first = await run(99);
    const { messages, dropped } = first.stats;
    assert.ok(Math.abs(dropped / messages - 0.3) < 0.03, `dropped ${dropped} of ${messages}`);
    // A round trip survives two draws: 0.7 × 0.7.
    const answered = first.answered.filter(Boolean).length / 3000;
    assert.ok(Math.abs(answered - 0.49) < 0.04, `answered ${answered}`);
    assert.deepEqual(await run(99), first);
    assert.notDeepEqual((await run(100)).answered, first.answered);
  });

  test('a whole run replays exactly from its seed', async () => {
    const scenario = async (seed: number): Promise<string[]> => {
      const { clock, transports } = rig({ latencyMs: [1, 30], dropRate: 0.2, seed }, 'a', 'b', 'c');
      const log: string[] = [];
      for (const t of transports) {
        await t.listen(async (message, from) => {
          log.push(`${t.address} got ${String(message['n'])} from ${from} at ${clock.now()}`);
          return { type: 'ack' };
        });
      }
      const requests = Array.from({ length: 60 }, (_, n) => {
        const from = transports[n % 3]!;
        const to = transports[(n + 1) % 3]!.address;
        return ask(from, to, n, 80).then(
          () => log.push(`${n} answered at ${clock.now()}`),
          (error: DynamoError) => log.push(`${n} ${error.code} at ${clock.now()}`),
        );
      });
      await clock.advance(100);
      await Promise.all(requests);
      return log;
    };
    const first = await scenario(2024);
    assert.ok(first.some((line) => line.includes('TIMEOUT')) && first.some((line) => line.includes('answered')));
    assert.deepEqual(await scenario(2024), first);
    assert.notDeepEqual(await scenario(2025), first);
  });

  test('stats count frames, their bytes and the lost ones; a read is a snapshot', async () => {
    const { clock, net, transports } = rig({}, 'a', 'b');
    const [a, b] = transports;
    await b!.listen(async () => ({ type: 'pong' }));
    const before = net.stats;
    await settleWith(clock, a!.request('b', { type: 'ping' }, { timeoutMs: 10 }));
    const bytes =
      encodeFrame({ kind: 'request', id: 1, message: { type: 'ping' } }).byteLength +
      encodeFrame({ kind: 'reply', id: 1, message: { type: 'pong' } }).byteLength;
    assert.deepEqual(net.stats, { messages: 2, bytes, dropped: 0 });
    assert.deepEqual(before, { messages: 0, bytes: 0, dropped: 0 });
    net.isolate('b');
    await assert.rejects(settleWith(clock, a!.request('b', { type: 'ping' }, { timeoutMs: 10 })), TimeoutError);
    assert.equal(net.stats.messages, 3);
    assert.equal(net.stats.dropped, 1);
  });
});

describe('InMemoryTransport lifecycle', () => {
  test('close rejects pending requests with CLOSED, clears its timers, and is idempotent', async () => {
    const { clock, transports } = rig({}, 'a', 'b');
    const [a, b] = transports;
    await b!.listen(() => new Promise<Message>(() => {}));
    const pending = [watch(ask(a!, 'b', 1)), watch(ask(a!, 'b', 2))];
    await clock.advance(0);
    assert.equal(a!.pendingRequests, 2);
    await a!.close();
    await a!.close();
    await clock.advance(0);
    for (const outcome of pending) {
      assert.ok(outcome.error instanceof DynamoError);
      assert.equal(outcome.error.code, 'CLOSED');
    }
    assert.equal(a!.pendingRequests, 0);
    assert.equal(clock.pending, 0);
    await assert.rejects(ask(a!, 'b'), (error: DynamoError) => error.code === 'CLOSED');
    await assert.rejects(a!.listen(echo), (error: DynamoError) => error.code === 'CLOSED');
  });

  test('listening twice is refused', async () => {
    const { transports } = rig({}, 'a');
    await transports[0]!.listen(echo);
    await assert.rejects(transports[0]!.listen(echo), ValidationError);
  });

  test('an answer meant for a closed transport never reaches its successor at the same address', async () => {
    const { clock, net, transports } = rig({}, 'a', 'b');
    const [oldA, b] = transports;
    const release: (() => void)[] = [];
    await b!.listen(async (message) => {
      await new Promise<void>((resolve) => release.push(resolve));
      return { type: 'answer', n: message['n'] };
    });
    const stale = watch(ask(oldA!, 'b', 1));
    await clock.advance(0);
    await oldA!.close();
    const newA = net.transport('a');
    // Same first request id as the old instance had: only the instance tells them apart.
    const fresh = watch(ask(newA, 'b', 2));
    await clock.advance(0);
    release[0]!();
    await clock.advance(0);
    assert.equal(fresh.settled, false, 'the old answer must not settle the new request');
    release[1]!();
    await clock.advance(0);
    assert.deepEqual(fresh.value, { type: 'answer', n: 2 });
    assert.equal((stale.error as DynamoError).code, 'CLOSED');
  });

  test('nothing accumulates: answers, errors and timeouts all free their state', async () => {
    const { clock, net, transports } = rig({}, 'a', 'b');
    const [a, b] = transports;
    await b!.listen(async (message) => {
      const n = message['n'] as number;
      if (n % 3 === 0) throw new Error('no');
      return { type: 'ok' };
    });
    net.partition(['a', 'b']);
    const outcomes = Array.from({ length: 300 }, (_, n) => {
      if (n === 150) net.isolate('b');
      return watch(ask(a!, 'b', n, 20));
    });
    await clock.advance(20);
    assert.ok(outcomes.every((o) => o.settled));
    assert.equal(a!.pendingRequests, 0);
    assert.equal(clock.pending, 0);
  });

  test('on the system clock a zero-latency round trip takes microseconds, not a timer tick', async () => {
    const net = new InMemoryNetwork();
    const a = net.transport('a');
    const b = net.transport('b');
    await b.listen(echo);
    const started = performance.now();
    for (let n = 0; n < 2000; n++) await ask(a, 'b', n);
    const elapsed = performance.now() - started;
    // setTimeout(0) costs at least 1 ms, so 2000 round trips would take 4 s.
    assert.ok(elapsed < 1500, `2000 round trips took ${elapsed.toFixed(0)} ms`);
    await Promise.all([a.close(), b.close()]);
  });
});

/** Advances `clock` until `promise` settles (or the limit passes) and returns its outcome. */
async function settleWith<T>(clock: ManualClock, promise: Promise<T>, limitMs = 10_000): Promise<T> {
  const state = watch(promise);
  for (let t = 0; !state.settled && t < limitMs; t++) await clock.advance(1);
  return promise;
}
