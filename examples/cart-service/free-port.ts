/**
 * Free TCP ports for members whose addresses must be known before they start (a member
 * advertises the port it was configured with, so it cannot be 0).
 *
 * Ports are drawn at random below 32768, outside Linux's default ephemeral range (where
 * the kernel picks ports for port-0 listeners and outgoing connections), and each is
 * checked by listening on it and closing again. Another process may still take the port
 * before it is used: a caller that fails to bind it should pick again.
 * @module
 */
import { createServer } from 'node:net';

const LOWEST = 20_000;
const HIGHEST = 32_767;

/** A port nothing listens on at `host` right now. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (HIGHEST - LOWEST + 1));
    if ((await tryListen(host, port)) !== undefined) return port;
  }
  // A crowded range: let the kernel choose (from the ephemeral range).
  const port = await tryListen(host, 0);
  if (port === undefined) throw new Error(`no free port on ${host}`);
  return port;
}

/** `count` distinct free ports at `host`. */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort(host));
  return [...ports];
}

/** The port bound (then released), or undefined when `port` is taken. */
function tryListen(host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ host, port, exclusive: true }, () => {
      const bound = (server.address() as { port: number }).port;
      server.close(() => resolve(bound));
    });
  });
}
