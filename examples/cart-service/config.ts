/**
 * The cart service's settings, from command-line flags or environment variables (a flag
 * wins over its variable). Pure: it reads the arrays and objects it is given, no files.
 * @module
 */
import { parseArgs } from 'node:util';

/** File paths of this member's TLS material (all three, or TLS is off). */
export interface TlsFiles {
  readonly key: string;
  readonly cert: string;
  readonly ca: string;
}

/** Everything one cart-service process needs to know. */
export interface ServiceConfig {
  /** Member id, stable across restarts. */
  readonly id: string;
  /** Host both listeners bind, and the host peers dial. */
  readonly host: string;
  /** Port of the cluster protocol (TcpTransport). */
  readonly peerPort: number;
  /** Port of the HTTP API; 0 picks a free one (the ready line says which). */
  readonly httpPort: number;
  /** `host:port` peer addresses to join through. */
  readonly seeds: readonly string[];
  /** LevelDB folder of this member. */
  readonly dataDir: string;
  /** Cluster secret (at least 16 bytes), or none. */
  readonly secret: string | undefined;
  readonly tls: TlsFiles | undefined;
  readonly n: number | undefined;
  readonly r: number | undefined;
  readonly w: number | undefined;
}

/** A flag, its environment variable, and what it means (for `--help`). */
const FLAGS = {
  id: ['CART_ID', 'member id, stable across restarts (default: host:peer-port)'],
  host: ['CART_HOST', 'host to listen on and be dialled at (default: 127.0.0.1)'],
  'peer-port': ['CART_PEER_PORT', 'port of the cluster protocol (required, not 0: peers dial it)'],
  'http-port': ['CART_HTTP_PORT', 'port of the HTTP API (default: 0, any free port)'],
  seeds: ['CART_SEEDS', 'comma-separated host:port peer addresses to join through'],
  'data-dir': ['CART_DATA_DIR', 'LevelDB folder (default: ./cart-data/<id>)'],
  secret: ['CART_SECRET', 'cluster secret, 16 bytes or more (prefer the variable: flags show in ps)'],
  'tls-key': ['CART_TLS_KEY', 'PEM file of this member\'s private key'],
  'tls-cert': ['CART_TLS_CERT', 'PEM file of this member\'s certificate'],
  'tls-ca': ['CART_TLS_CA', 'PEM file of the cluster CA'],
  n: ['CART_N', 'replicas per key (default 3; the same on every member)'],
  r: ['CART_R', 'replies a read waits for (default 2)'],
  w: ['CART_W', 'acknowledgements a write waits for (default 2)'],
} as const;

type Flag = keyof typeof FLAGS;

/** A setting that cannot be used; the message says which and why. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** `--help` text. */
export const USAGE = [
  'usage: node --import tsx examples/cart-service/server.ts [flags]',
  '',
  ...Object.entries(FLAGS).map(([flag, [env, help]]) => `  --${flag.padEnd(10)} ${env.padEnd(15)} ${help}`),
].join('\n');

/** Reads the settings from `argv` (without node and the script) and `env`. */
export function parseConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ServiceConfig {
  let flags: Partial<Record<Flag, string>>;
  try {
    const options = Object.fromEntries(Object.keys(FLAGS).map((flag) => [flag, { type: 'string' as const }]));
    flags = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values as Partial<Record<Flag, string>>;
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  const get = (flag: Flag): string | undefined => {
    const value = flags[flag] ?? env[FLAGS[flag][0]];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };

  const host = get('host') ?? '127.0.0.1';
  const peerPort = port('peer-port', get('peer-port'), 1);
  const httpPort = port('http-port', get('http-port') ?? '0', 0);
  const id = get('id') ?? `${host}:${peerPort}`;
  const seeds = (get('seeds') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const secret = get('secret');
  if (secret !== undefined && Buffer.byteLength(secret) < 16) throw new ConfigError('--secret must hold at least 16 bytes');
  const [key, cert, ca] = [get('tls-key'), get('tls-cert'), get('tls-ca')];
  const given = [key, cert, ca].filter((f) => f !== undefined).length;
  if (given !== 0 && given !== 3) throw new ConfigError('TLS needs all three of --tls-key, --tls-cert and --tls-ca');
  return {
    id,
    host,
    peerPort,
    httpPort,
    seeds,
    dataDir: get('data-dir') ?? `cart-data/${id.replace(/[^A-Za-z0-9_.-]/g, '_')}`,
    secret,
    tls: key !== undefined && cert !== undefined && ca !== undefined ? { key, cert, ca } : undefined,
    n: count('n', get('n')),
    r: count('r', get('r')),
    w: count('w', get('w')),
  };
}

function port(flag: Flag, text: string | undefined, min: number): number {
  if (text === undefined) throw new ConfigError(`--${flag} is required`);
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > 65535) throw new ConfigError(`--${flag} must be a port in ${min}..65535, got ${text}`);
  return value;
}

function count(flag: Flag, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new ConfigError(`--${flag} must be a positive integer, got ${text}`);
  return Number(text);
}
