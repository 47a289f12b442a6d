/**
 * Starting a cart-service member as a child process and waiting until it serves. Used by
 * `cluster.ts` and by the multi-process tests.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ServiceConfig } from './config.js';

/** The repository root: children run there, so that `--import tsx` resolves. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The service's entry point, relative to {@link REPO_ROOT}. */
export const SERVER_SCRIPT = 'examples/cart-service/server.ts';

/**
 * How to run one member: its service settings (./config.ts), the optional ones left out
 * when not used. The secret is passed as `CART_SECRET`, never as a flag (flags show in `ps`).
 */
export type MemberSpec = Pick<ServiceConfig, 'id' | 'host' | 'peerPort' | 'httpPort' | 'seeds' | 'dataDir'> &
  Partial<Pick<ServiceConfig, 'secret' | 'tls' | 'n' | 'r' | 'w'>>;

/** The JSON line a member prints on stdout once it serves. */
export interface ReadyLine {
  readonly id: string;
  readonly pid: number;
  /** `host:port` of its peer listener. */
  readonly peer: string;
  /** Base URL of its HTTP API. */
  readonly http: string;
}

/** A member process that printed its ready line. */
export interface MemberProcess {
  readonly spec: MemberSpec;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly ready: ReadyLine;
  /** Its stderr (the JSON log) so far; the last {@link LOG_LIMIT} characters. */
  log(): string;
  /** Resolves with the exit code or signal once the process has exited. */
  readonly exited: Promise<number | NodeJS.Signals>;
}

/** Characters of a member's log kept in memory. */
export const LOG_LIMIT = 512 * 1024;

/** The service's flags for `spec` (the secret goes in the environment instead). */
export function memberArgs(spec: MemberSpec): string[] {
  const args = ['--id', spec.id, '--host', spec.host, '--peer-port', String(spec.peerPort), '--http-port', String(spec.httpPort)];
  args.push('--seeds', spec.seeds.join(','), '--data-dir', spec.dataDir);
  if (spec.tls !== undefined) args.push('--tls-key', spec.tls.key, '--tls-cert', spec.tls.cert, '--tls-ca', spec.tls.ca);
  for (const quorum of ['n', 'r', 'w'] as const) {
    const value = spec[quorum];
    if (value !== undefined) args.push(`--${quorum}`, String(value));
  }
  return args;
}

/** A shell command line that starts `spec` by hand, from the repository root. */
export function shellCommand(spec: MemberSpec): string {
  const env = spec.secret === undefined ? '' : `CART_SECRET=${quote(spec.secret)} `;
  return `${env}node --import tsx ${SERVER_SCRIPT} ${memberArgs(spec).map(quote).join(' ')}`;
}

/**
 * Spawns a member and resolves once it printed its ready line; rejects (with the end of
 * its log) if it exits first or does not get there within `timeoutMs`, killing it then.
 */
export function startMember(spec: MemberSpec, timeoutMs = 30_000): Promise<MemberProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['CART_SECRET'];
  if (spec.secret !== undefined) env['CART_SECRET'] = spec.secret;
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER_SCRIPT, ...memberArgs(spec)], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    log = (log + chunk).slice(-LOG_LIMIT);
  });
  const exited = new Promise<number | NodeJS.Signals>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ?? code ?? 0));
  });
  return new Promise<MemberProcess>((resolve, reject) => {
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`member ${spec.id} ${why}; its log ends:\n${log.slice(-4000)}`));
    };
    const timer = setTimeout(() => fail(`printed no ready line within ${timeoutMs} ms`), timeoutMs);
    void exited.then((how) => fail(`exited (${how}) before it was ready`));
    child.once('error', (error) => fail(`could not be spawned: ${error.message}`));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const ready = parseReady(line);
      if (ready === undefined || settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ spec, child, pid: child.pid!, ready, log: () => log, exited });
    });
  });
}

function parseReady(line: string): ReadyLine | undefined {
  try {
    const value = JSON.parse(line) as Partial<ReadyLine> & { event?: unknown };
    if (value.event !== 'ready' || typeof value.http !== 'string' || typeof value.pid !== 'number') return undefined;
    return value as ReadyLine;
  } catch {
    return undefined;
  }
}

function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
