import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeFrame, encodeFrame } from '../../src/codec/wire.js';
import { DynamoError, TimeoutError, ValidationError } from '../../src/errors.js';
import type { Message, Transport } from '../../src/transport/transport.js';
import { TcpTransport, type TcpTransportOptions } from '../../src/transport/tcp.js';
import { transportComplianceSuite } from '../compliance/transport.js';
import { RawConnection, prefixed, rawServer } from '../fixtures/tcp-raw.js';
import { makeTestPki } from '../fixtures/tls-certs.js';

const HOST = '127.0.0.1';
const SECRET = 'correct horse battery staple';
const pki = makeTestPki();
const NO_OPENSSL = 'openssl is not installed: mutual TLS tests skipped';

/** A logger that keeps what it was told. */
function memoryLogger() {
  const lines: { obj: object; msg: string }[] = [];
  return { lines, warn: (obj: object, msg: string) => void lines.push({ obj, msg }) };
}

function tcp(options: Partial<TcpTransportOptions> = {}): TcpTransport {
  return new TcpTransport({ host: HOST, port: 0, ...options });
}

const echo = async (message: Message): Promise<Message> => ({ type: 'echo', got: message });

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function isCode(code: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof DynamoError, `expected a DynamoError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return true;
  };
}

/** Settles `promise` and returns its error (failing if it resolved). */
async function rejection(promise: Promise<unknown>): Promise<DynamoError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof DynamoError, `expected a DynamoError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}

/** Compliance options for `count` TcpTransports made by `make(i)`. */
function complianceRig(make: (i: number) => TcpTransport) {
  return {
    async setup(count: number) {
      const transports = Array.from({ length: count }, (_, i) => make(i));
      return { transports: transports as Transport[], teardown: async () => void (await Promise.all(transports.map((t) => t.close()))) };
    },
    pendingRequests: (transport: Transport) => (transport as TcpTransport).pendingRequests,
  };
}

describe('TcpTransport passes the Transport compliance suite', () => {
  transportComplianceSuite(test, complianceRig(() => tcp()));
});

describe('TcpTransport with a cluster secret passes the Transport compliance suite', () => {
  transportComplianceSuite(test, complianceRig(() => tcp({ secret: SECRET })));
});

describe('TcpTransport over mutual TLS passes the Transport compliance suite', { skip: pki === undefined && NO_OPENSSL }, () => {
  if (pki === undefined) return;
  transportComplianceSuite(test, complianceRig((i) => tcp({ tls: i % 2 === 0 ? pki.member : pki.otherMember })));
});

describe('TcpTransport with TLS and a secret together passes the Transport compliance suite', { skip: pki === undefined && NO_OPENSSL }, () => {
  if (pki === undefined) return;
  transportComplianceSuite(test, complianceRig(() => tcp({ tls: pki.member, secret: SECRET })));
});

describe('TcpTransport addresses and options', () => {
  test('port 0 picks a free port on listen, and address shows it', async () => {
    const t = tcp();
    assert.equal(t.address, `${HOST}:0`);
    await t.listen(echo);
    assert.match(t.address, /^127\.0\.0\.1:\d+$/);
    assert.notEqual(t.address, `${HOST}:0`);
    await assert.rejects(t.listen(echo), ValidationError, 'listening twice');
    await t.close();
  });

  test('an IPv6 host is written in brackets', async (t) => {
    const v6 = new TcpTransport({ host: '::1', port: 0 });
    try {
      await v6.listen(echo);
    } catch (error) {
      t.skip(`no IPv6 loopback here (${(error as Error).message})`);
      return;
    }
    assert.match(v6.address, /^\[::1\]:\d+$/);
    const client = tcp();
    assert.deepEqual(await client.request(v6.address, { type: 'hi' }, { timeoutMs: 2000 }), { type: 'echo', got: { type: 'hi' } });
    await Promise.all([v6.close(), client.close()]);
  });

  test('a port in use gives LISTEN_FAILED', async () => {
    const first = tcp();
    await first.listen(echo);
    const port = Number(first.address.split(':')[1]);
    const second = tcp({ port });
    await assert.rejects(second.listen(echo), isCode('LISTEN_FAILED'));
    await Promise.all([first.close(), second.close()]);
  });

  test('nonsense options are refused with a message naming the option', () => {
    const bad: [Partial<TcpTransportOptions>, RegExp][] = [
      [{ host: '' }, /host/],
      [{ port: -1 }, /port/],
      [{ port: 70000 }, /port/],
      [{ port: 1.5 }, /port/],
      [{ maxFrameBytes: 10 }, /maxFrameBytes/],
      [{ maxFrameBytes: 2 ** 33 }, /maxFrameBytes/],
      [{ maxFrameBytes: 4096, maxQueuedBytes: 4096 }, /maxQueuedBytes/],
      [{ connectTimeoutMs: 0 }, /connectTimeoutMs/],
      [{ reconnectDelayMs: [100, 10] }, /reconnectDelayMs/],
      [{ secret: 'short' }, /secret/],
      [{ tls: { key: '', cert: 'x', ca: 'y' } }, /tls\.key/],
      [{ logger: {} as never }, /logger/],
    ];
    for (const [options, pattern] of bad) {
      assert.throws(() => tcp(options), (error: unknown) => error instanceof ValidationError && pattern.test(error.message), JSON.stringify(options));
    }
    const options = { host: HOST, port: 0, reconnectDelayMs: [1, 2] as const };
    tcp(options);
    assert.deepEqual(options, { host: HOST, port: 0, reconnectDelayMs: [1, 2] }, 'options are not mutated');
  });

  test('malformed addresses and timeouts are refused; port 0 is unreachable', async () => {
    const client = tcp();
    for (const to of ['nope', 'host:', ':80', 'host:99999', '[1.2.3.4]:80', 'a b:80']) {
      await assert.rejects(client.request(to, { type: 'x' }, { timeoutMs: 100 }), ValidationError, to);
    }
    await assert.rejects(client.request(`${HOST}:1`, { type: 'x' }, { timeoutMs: 0 }), ValidationError);
    await assert.rejects(client.request(`${HOST}:0`, { type: 'x' }, { timeoutMs: 100 }), isCode('UNREACHABLE'));
    await client.close();
  });
});

describe('TcpTransport authentication', () => {
  test('a peer with the wrong secret is refused, nothing is served, both sides log it; good peers are still served', async () => {
    const serverLog = memoryLogger();
    const clientLog = memoryLogger();
    let served = 0;
    const server = tcp({ secret: SECRET, logger: serverLog });
    await server.listen(async (message) => {
      served++;
      return echo(message);
    });
    const impostor = tcp({ secret: 'a different secret, just as long', logger: clientLog });
    const error = await rejection(impostor.request(server.address, { type: 'steal' }, { timeoutMs: 2000 }));
    assert.equal(error.code, 'UNREACHABLE');
    assert.match(error.message, /failed authentication/);
    await delay(50);
    assert.equal(served, 0);
    assert.ok(clientLog.lines.some((l) => /failed authentication/.test(l.msg)), 'the dialler logs the bad proof');
    assert.ok(serverLog.lines.some((l) => /cluster secret/.test(l.msg)), 'the listener logs the peer that did not prove itself');

    const friend = tcp({ secret: SECRET });
    assert.deepEqual(await friend.request(server.address, { type: 'hi' }, { timeoutMs: 2000 }), { type: 'echo', got: { type: 'hi' } });
    assert.equal(served, 1);
    await Promise.all([server.close(), impostor.close(), friend.close()]);
  });

  test('a raw peer sending a wrong proof, then requests, is dropped before anything is served', async () => {
    const log = memoryLogger();
    let served = 0;
    const server = tcp({ secret: SECRET, logger: log });
    await server.listen(async () => ({ type: 'served', n: ++served }));
    const raw = await RawConnection.connect(server.address);
    await raw.dialHandshake({ proof: Buffer.alloc(32, 7) });
    raw.sendFrame(encodeFrame({ kind: 'request', id: 1, message: { type: 'sneak' } }));
    await raw.closed;
    assert.equal(raw.frames.length, 0, 'nothing came back after the server-hello');
    assert.equal(served, 0);
    assert.ok(log.lines.some((l) => /failed authentication: wrong cluster secret/.test(l.msg)));
    await server.close();
  });

  test('a raw peer skipping the proof and sending requests is never served', async () => {
    let served = 0;
    const log = memoryLogger();
    const server = tcp({ secret: SECRET, logger: log });
    await server.listen(async () => ({ type: 'served', n: ++served }));
    const raw = await RawConnection.connect(server.address);
    await raw.dialHandshake({ address: '127.0.0.1:9' }).catch(() => undefined);
    raw.sendFrame(encodeFrame({ kind: 'request', id: 1, message: { type: 'sneak' } }));
    await raw.closed;
    assert.equal(served, 0);
    assert.ok(log.lines.some((l) => /has no cluster secret/.test(l.msg)));
    await server.close();
  });

  test('a secret on one side only is refused both ways', async () => {
    for (const [serverSecret, clientSecret] of [[SECRET, undefined], [undefined, SECRET]] as const) {
      const log = memoryLogger();
      const server = tcp({ ...(serverSecret === undefined ? {} : { secret: serverSecret }), logger: log });
      await server.listen(echo);
      const client = tcp(clientSecret === undefined ? {} : { secret: clientSecret });
      await assert.rejects(client.request(server.address, { type: 'x' }, { timeoutMs: 2000 }), isCode('UNREACHABLE'));
      assert.ok(log.lines.some((l) => /cluster secret/.test(l.msg)), JSON.stringify(log.lines));
      await Promise.all([server.close(), client.close()]);
    }
  });

  test('an unfinished handshake is dropped after connectTimeoutMs', async () => {
    const log = memoryLogger();
    const server = tcp({ connectTimeoutMs: 100, logger: log });
    await server.listen(echo);
    const raw = await RawConnection.connect(server.address);
    const started = performance.now();
    await raw.closed;
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 90 && elapsed < 1000, `dropped after ${elapsed.toFixed(0)} ms`);
    assert.ok(log.lines.some((l) => /did not finish its handshake/.test(l.msg)));
    await server.close();
  });
});

describe('TcpTransport mutual TLS', { skip: pki === undefined && NO_OPENSSL }, () => {
  test('a peer whose certificate another CA signed is refused and logged; good peers are still served', async () => {
    assert.ok(pki !== undefined);
    const serverLog = memoryLogger();
    let served = 0;
    const server = tcp({ tls: pki.member, logger: serverLog });
    await server.listen(async (message) => {
      served++;
      return echo(message);
    });
    const stranger = tcp({ tls: { ...pki.stranger, ca: pki.member.ca } }); // trusts the server, but is not trusted
    await assert.rejects(stranger.request(server.address, { type: 'x' }, { timeoutMs: 2000 }), isCode('UNREACHABLE'));
    await delay(50);
    assert.equal(served, 0);
    assert.ok(serverLog.lines.some((l) => /TLS handshake failed/.test(l.msg)), JSON.stringify(serverLog.lines));

    const member = tcp({ tls: pki.otherMember });
    assert.deepEqual(await member.request(server.address, { type: 'hi' }, { timeoutMs: 2000 }), { type: 'echo', got: { type: 'hi' } });
    assert.equal(served, 1);
    await Promise.all([server.close(), stranger.close(), member.close()]);
  });

  test('a listener whose certificate the dialler does not trust is refused, and the dialler logs it', async () => {
    assert.ok(pki !== undefined);
    const server = tcp({ tls: { ...pki.stranger, ca: pki.member.ca } });
    let served = 0;
    await server.listen(async () => ({ type: 'served', n: ++served }));
    const log = memoryLogger();
    const client = tcp({ tls: pki.member, logger: log });
    await assert.rejects(client.request(server.address, { type: 'x' }, { timeoutMs: 2000 }), isCode('UNREACHABLE'));
    assert.equal(served, 0);
    assert.ok(log.lines.some((l) => /failed during the handshake/.test(l.msg)), JSON.stringify(log.lines));
    await Promise.all([server.close(), client.close()]);
  });

  test('a plain TCP dialler gets nothing from a TLS listener', async () => {
    assert.ok(pki !== undefined);
    const server = tcp({ tls: pki.member });
    await server.listen(echo);
    const plain = tcp();
    await assert.rejects(plain.request(server.address, { type: 'x' }, { timeoutMs: 2000 }), (error: unknown) => {
      assert.ok(error instanceof DynamoError && (error.code === 'UNREACHABLE' || error instanceof TimeoutError), String(error));
      return true;
    });
    await Promise.all([server.close(), plain.close()]);
  });
});

describe('TcpTransport faults', () => {
  test('a server that accepts and never answers gives TimeoutError, not a hang', async () => {
    for (const handshake of [false, true]) {
      const silent = await rawServer((connection) => {
        if (handshake) void connection.listenHandshake().catch(() => {});
      });
      const client = tcp();
      const started = performance.now();
      await assert.rejects(client.request(silent.address, { type: 'x' }, { timeoutMs: 100 }), TimeoutError);
      assert.ok(performance.now() - started < 1000);
      assert.equal(client.pendingRequests, 0);
      await Promise.all([client.close(), silent.close()]);
    }
  });

  test('a peer that dies after receiving the request rejects it at once with CLOSED', async () => {
    const dying = await rawServer((connection) => {
      void (async () => {
        await connection.listenHandshake();
        const request = await connection.nextFrame(2000);
        assert.equal(decodeFrame(request!).kind, 'request');
        connection.destroy();
      })();
    });
    const client = tcp();
    const started = performance.now();
    const error = await rejection(client.request(dying.address, { type: 'x' }, { timeoutMs: 10_000 }));
    assert.equal(error.code, 'CLOSED', error.message);
    assert.match(error.message, /may have handled it/);
    assert.ok(performance.now() - started < 1000, 'rejected promptly, long before the timeout');
    await Promise.all([client.close(), dying.close()]);
  });

  test('a peer answering garbage is dropped: its requests reject, and the next request redials', async () => {
    let connections = 0;
    const liar = await rawServer((connection) => {
      connections++;
      void (async () => {
        await connection.listenHandshake();
        await connection.nextFrame(2000);
        if (connections === 1) connection.send(prefixed(Buffer.from('not cbor at all, I am afraid')));
        else connection.sendFrame(encodeFrame({ kind: 'reply', id: 2, message: { type: 'fine' } }));
      })();
    });
    const log = memoryLogger();
    const client = tcp({ logger: log });
    await assert.rejects(client.request(liar.address, { type: 'x' }, { timeoutMs: 5000 }), isCode('CLOSED'));
    assert.ok(log.lines.some((l) => /malformed frame/.test(l.msg)));
    assert.deepEqual(await client.request(liar.address, { type: 'x' }, { timeoutMs: 5000 }), { type: 'fine' });
    assert.equal(connections, 2);
    await Promise.all([client.close(), liar.close()]);
  });

  test('a peer that stops in the middle of a frame: the request times out, the connection is dropped, the next one redials', async () => {
    let connections = 0;
    const stuck = await rawServer((connection) => {
      const n = ++connections;
      void (async () => {
        await connection.listenHandshake();
        for (;;) {
          const request = await connection.nextFrame(5000);
          if (request === undefined) return;
          const { id } = decodeFrame(request);
          const answer = prefixed(encodeFrame({ kind: 'reply', id, message: { type: 'fine' } }));
          connection.send(n === 1 ? answer.subarray(0, answer.byteLength - 3) : answer);
        }
      })();
    });
    const client = tcp();
    await assert.rejects(client.request(stuck.address, { type: 'x' }, { timeoutMs: 100 }), TimeoutError);
    assert.deepEqual(await client.request(stuck.address, { type: 'x' }, { timeoutMs: 2000 }), { type: 'fine' });
    assert.equal(connections, 2);
    await Promise.all([client.close(), stuck.close()]);
  });

  test('an unanswered request does not drop a connection that is carrying other answers', async () => {
    const peer = await rawServer((connection) => {
      void (async () => {
        await connection.listenHandshake();
        for (;;) {
          const request = await connection.nextFrame(5000);
          if (request === undefined) return;
          const frame = decodeFrame(request);
          if (frame.kind === 'request' && frame.message.type === 'fast') {
            connection.sendFrame(encodeFrame({ kind: 'reply', id: frame.id, message: { type: 'done' } }));
          }
        }
      })();
    });
    const client = tcp();
    const slow = assert.rejects(client.request(peer.address, { type: 'slow' }, { timeoutMs: 100 }), TimeoutError);
    const started = performance.now();
    while (performance.now() - started < 250) {
      assert.deepEqual(await client.request(peer.address, { type: 'fast' }, { timeoutMs: 2000 }), { type: 'done' });
      await delay(10);
    }
    await slow;
    assert.equal(peer.accepted(), 1, 'one connection throughout');
    await Promise.all([client.close(), peer.close()]);
  });

  test('reconnect: a stopped peer is UNREACHABLE; restarted on the same port, it is served again', async () => {
    const server = tcp();
    await server.listen(echo);
    const address = server.address;
    const port = Number(address.split(':')[1]);
    const client = tcp({ reconnectDelayMs: [10, 100] });
    assert.deepEqual(await client.request(address, { type: 'a' }, { timeoutMs: 2000 }), { type: 'echo', got: { type: 'a' } });

    await server.close();
    // The first request may still meet the closing connection (CLOSED); after that the
    // dial itself is refused.
    const codes: string[] = [];
    for (let i = 0; i < 5; i++) {
      codes.push((await rejection(client.request(address, { type: 'b' }, { timeoutMs: 2000 }))).code);
      await delay(5);
    }
    assert.ok(codes.slice(1).every((code) => code === 'UNREACHABLE'), codes.join());

    const restarted = new TcpTransport({ host: HOST, port });
    await restarted.listen(echo);
    const deadline = performance.now() + 3000;
    let answer: Message | undefined;
    while (answer === undefined && performance.now() < deadline) {
      answer = await client.request(address, { type: 'c' }, { timeoutMs: 2000 }).catch((error: DynamoError) => {
        assert.equal(error.code, 'UNREACHABLE', 'only the backoff may delay the redial');
        return delay(10).then(() => undefined);
      });
    }
    assert.deepEqual(answer, { type: 'echo', got: { type: 'c' } });
    await Promise.all([client.close(), restarted.close()]);
  });

  test('failed dials back off exponentially, capped; meanwhile requests fail fast', async () => {
    const refusing = await rawServer((connection) => connection.destroy());
    const client = tcp({ reconnectDelayMs: [20, 80] });
    const started = performance.now();
    let fast = 0;
    while (performance.now() - started < 600) {
      const t0 = performance.now();
      await assert.rejects(client.request(refusing.address, { type: 'x' }, { timeoutMs: 1000 }), isCode('UNREACHABLE'));
      if (performance.now() - t0 < 5) fast++;
      await delay(1);
    }
    // Dials at about 0, 20, 60, 140, then every 80 ms: about 10 in 600 ms, not hundreds.
    const dials = refusing.accepted();
    assert.ok(dials >= 5 && dials <= 14, `${dials} dials`);
    assert.ok(fast > 50, `${fast} requests failed fast during the backoff`);
    await Promise.all([client.close(), refusing.close()]);
  });

  test('a frame over maxFrameBytes: the sender refuses it; a receiver drops the connection and goes on', async () => {
    const log = memoryLogger();
    const server = tcp({ maxFrameBytes: 64 * 1024, logger: log });
    await server.listen(async (message) => (message.type === 'big-answer' ? { type: 'big', blob: new Uint8Array(100_000) } : echo(message)));
    const small = tcp({ maxFrameBytes: 64 * 1024 });
    await assert.rejects(small.request(server.address, { type: 'x', blob: new Uint8Array(100_000) }, { timeoutMs: 2000 }), ValidationError);
    const answerTooBig = await rejection(small.request(server.address, { type: 'big-answer' }, { timeoutMs: 2000 }));
    assert.equal(answerTooBig.code, 'REMOTE_ERROR');
    assert.match(answerTooBig.message, /maxFrameBytes/);

    const large = tcp(); // a misconfigured peer with a larger limit
    await assert.rejects(large.request(server.address, { type: 'x', blob: new Uint8Array(100_000) }, { timeoutMs: 2000 }), isCode('CLOSED'));
    assert.ok(log.lines.some((l) => /over the limit/.test(l.msg)));
    assert.deepEqual(await small.request(server.address, { type: 'still' }, { timeoutMs: 2000 }), { type: 'echo', got: { type: 'still' } });
    assert.deepEqual(await large.request(server.address, { type: 'again' }, { timeoutMs: 2000 }), { type: 'echo', got: { type: 'again' } });
    await Promise.all([server.close(), small.close(), large.close()]);
  });
});

describe('TcpTransport backpressure', () => {
  test('requests to a peer that stops reading fill a bounded queue, then reject with OVERLOADED', async () => {
    const stalled = await rawServer((connection) => {
      void connection.listenHandshake().then(() => connection.socket.pause());
    });
    const maxQueuedBytes = 2 * 1024 * 1024;
    const client = tcp({ maxFrameBytes: 1024 * 1024, maxQueuedBytes });
    const payload = new Uint8Array(256 * 1024);
    const outcomes: Promise<unknown>[] = [];
    let overloaded: DynamoError | undefined;
    for (let i = 0; i < 400 && overloaded === undefined; i++) {
      outcomes.push(client.request(stalled.address, { type: 'x', payload }, { timeoutMs: 3000 }).catch((error: DynamoError) => {
        overloaded ??= error.code === 'OVERLOADED' ? error : undefined;
      }));
      await delay(0); // let the socket move what it can
    }
    assert.ok(overloaded !== undefined, 'the queue never filled');
    assert.match(overloaded.message, /maxQueuedBytes/);
    await client.close();
    await Promise.all(outcomes);
    await stalled.close();
  });

  test('a peer that does not read its answers makes the listener stop reading requests', async () => {
    let served = 0;
    const server = tcp({ maxFrameBytes: 256 * 1024, maxQueuedBytes: 512 * 1024 });
    await server.listen(async () => {
      served++;
      return { type: 'answer', blob: new Uint8Array(64 * 1024) };
    });
    const raw = await RawConnection.connect(server.address);
    await raw.dialHandshake();
    raw.socket.pause(); // read no answers
    const count = 1500;
    const request = (id: number) => prefixed(encodeFrame({ kind: 'request', id, message: { type: 'q', pad: new Uint8Array(16 * 1024) } }));
    for (let id = 1; id <= count; id++) raw.send(request(id));
    await delay(300);
    const servedWhileStalled = served;
    assert.ok(servedWhileStalled < count / 2, `served ${servedWhileStalled} of ${count} while the peer read nothing`);
    raw.socket.resume();
    const deadline = performance.now() + 10_000;
    while (raw.frames.length < count && performance.now() < deadline) await delay(20);
    assert.equal(raw.frames.length, count, 'every request is answered once the peer reads again');
    raw.destroy();
    await server.close();
  });
});

describe('TcpTransport lifecycle', () => {
  test('an idle connection holds no timer; close frees every socket', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const sockets = () => process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length;
    await delay(50); // handles of earlier tests finish closing
    const baseTimers = timers();
    const baseSockets = sockets();
    const a = tcp();
    const b = tcp();
    await b.listen(echo);
    await a.listen(echo);
    await a.request(b.address, { type: 'x' }, { timeoutMs: 5000 });
    await b.request(a.address, { type: 'y' }, { timeoutMs: 5000 });
    await delay(20);
    assert.equal(timers(), baseTimers, 'timers left on idle connections');
    // Two listeners and the two accepted ends; the dialled ends are unref'd, so an idle
    // pool never keeps the process alive (a pending request does, by its timer).
    assert.equal(sockets(), baseSockets + 4);
    await Promise.all([a.close(), b.close()]);
    await delay(20);
    assert.equal(sockets(), baseSockets);
    assert.equal(timers(), baseTimers);
  });

  test('close rejects requests still waiting for the dial with CLOSED', async () => {
    const silent = await rawServer(() => {});
    const client = tcp();
    const pending = client.request(silent.address, { type: 'x' }, { timeoutMs: 5000 });
    await delay(20);
    await client.close();
    await assert.rejects(pending, isCode('CLOSED'));
    await silent.close();
  });

  test('close during listen closes the listener and listen rejects CLOSED', async () => {
    const t = tcp();
    const listening = t.listen(echo);
    await t.close();
    await assert.rejects(listening, isCode('CLOSED'));
    const port = Number(t.address.split(':')[1]);
    // The port is free again.
    const again = new TcpTransport({ host: HOST, port });
    await again.listen(echo);
    await again.close();
  });

  test('a transport can request itself', async () => {
    const t = tcp();
    await t.listen(async (message, from) => ({ type: 'self', from, n: message['n'] }));
    assert.deepEqual(await t.request(t.address, { type: 'x', n: 1 }, { timeoutMs: 2000 }), { type: 'self', from: t.address, n: 1 });
    await t.close();
  });

  test('a throwing logger does not take the transport down', async () => {
    const server = tcp({ logger: { warn: () => { throw new Error('logger on fire'); } } });
    await server.listen(echo);
    const raw = await RawConnection.connect(server.address);
    raw.send(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    await raw.closed;
    const client = tcp();
    assert.deepEqual(await client.request(server.address, { type: 'ok' }, { timeoutMs: 2000 }), { type: 'echo', got: { type: 'ok' } });
    await Promise.all([server.close(), client.close()]);
  });
});
