/**
 * One cart-service process: a libdynamo member (TcpTransport + LevelStorage) with an HTTP
 * JSON API in front of it. Settings come from flags or `CART_*` variables (`--help`).
 *
 *   node --import tsx examples/cart-service/server.ts --id a --peer-port 7001 --http-port 8001 \
 *     --seeds 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003 --data-dir /tmp/carts/a
 *
 * Once it serves, it prints one JSON line on stdout:
 * `{"event":"ready","id":…,"pid":…,"peer":"host:port","http":"http://host:port"}`; its log
 * (JSON lines) goes to stderr. SIGTERM or SIGINT stops it cleanly (a second one exits at once).
 * @module
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { isIP } from 'node:net';
import { Dynamo, LevelStorage, TcpTransport, type DynamoOptions, type TcpTransportOptions } from '../../src/index.js';
import { CartStore } from './cart-store.js';
import { ConfigError, parseConfig, USAGE, type ServiceConfig } from './config.js';
import { createApi } from './http-api.js';
import { log, transportLogger } from './log.js';

/** How long shutdown waits for HTTP requests in flight before stopping the member anyway. */
const DRAIN_MS = 5000;

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return;
  }
  let config: ServiceConfig;
  try {
    config = parseConfig(argv, process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`${error.message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }

  const dynamo = new Dynamo(dynamoOptions(config));
  logEvents(dynamo);
  await dynamo.start();

  let stopping = false;
  const http = createServer(createApi({ store: new CartStore(dynamo), dynamo, stopping: () => stopping }));
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.httpPort, config.host, () => resolve());
  });
  const { port } = http.address() as { port: number };
  const ready = { event: 'ready', id: dynamo.id, pid: process.pid, peer: `${urlHost(config.host)}:${config.peerPort}`, http: `http://${urlHost(config.host)}:${port}` };
  console.log(JSON.stringify(ready));
  log('info', 'serving', { ...ready, seeds: config.seeds, dataDir: config.dataDir, tls: config.tls !== undefined, secret: config.secret !== undefined });

  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) {
      log('warn', `second ${signal}: exiting without a clean stop`);
      process.exit(1);
    }
    stopping = true;
    log('info', `${signal}: stopping`);
    await drain(http);
    await dynamo.stop();
    http.closeAllConnections();
    log('info', 'stopped');
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      shutdown(signal).catch((error: unknown) => {
        log('error', 'shutdown failed', { err: error });
        process.exit(1);
      });
    });
  }
}

function dynamoOptions(config: ServiceConfig): DynamoOptions {
  const transport: TcpTransportOptions = {
    host: config.host,
    port: config.peerPort,
    logger: transportLogger,
    ...(config.secret === undefined ? {} : { secret: config.secret }),
    ...(config.tls === undefined
      ? {}
      : { tls: { key: readFileSync(config.tls.key), cert: readFileSync(config.tls.cert), ca: readFileSync(config.tls.ca) } }),
  };
  return {
    id: config.id,
    transport: new TcpTransport(transport),
    storage: new LevelStorage(config.dataDir),
    seeds: config.seeds,
    ...(config.n === undefined ? {} : { n: config.n }),
    ...(config.r === undefined ? {} : { r: config.r }),
    ...(config.w === undefined ? {} : { w: config.w }),
  };
}

/** What the cluster does, in the log: who comes and goes, and where hints go. */
function logEvents(dynamo: Dynamo): void {
  dynamo.on('member:joined', (member) => log('info', 'member joined', { member }));
  dynamo.on('member:up', (member) => log('info', 'member up', { member }));
  dynamo.on('member:down', (member) => log('warn', 'member down', { member }));
  dynamo.on('member:left', (member) => log('info', 'member left', { member }));
  dynamo.on('hint:stored', (hint) => log('info', 'hint stored', hint));
  dynamo.on('hint:delivered', (hint) => log('info', 'hint delivered', hint));
  dynamo.on('hint:dropped', (hint) => log('warn', 'hint dropped', hint));
  dynamo.on('conflict', (conflict) => log('info', 'siblings', conflict));
}

/** Stops accepting connections and waits (at most {@link DRAIN_MS}) for requests in flight. */
function drain(http: Server): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, DRAIN_MS);
    http.close(() => {
      clearTimeout(timer);
      resolve();
    });
    http.closeIdleConnections();
  });
}

function urlHost(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

main().catch((error: unknown) => {
  log('error', 'cannot start', { err: error });
  process.exit(1);
});
