/**
 * The HTTP JSON API of the cart service, on `node:http` alone:
 *
 * | route | answer |
 * |---|---|
 * | `GET /carts/:id` | `{ id, items: { sku: qty }, siblings }` (a quorum read; siblings are merged and written back) |
 * | `POST /carts/:id/items` with `{ sku, qty? }` | the cart after adding `qty` (default 1) of `sku` |
 * | `DELETE /carts/:id/items/:sku` | the cart without `sku` |
 * | `GET /local/carts/:id` | this member's own replica: `{ id, found, items, siblings, owners }` (no quorum) |
 * | `GET /members` | `{ members: [{ id, address, status, vnodes }] }` as this member sees them |
 * | `GET /metrics` | `dynamo.metrics()` |
 * | `GET /health` | `{ status, id, hintsPending, up, down }`; 503 once shutting down |
 * | `GET /ring` | `{ partitions, owners, counts, version }`: the owner of every partition (see ring-view.ts) |
 * | `GET /placement?key=` | `{ key, position, partition, owners }`: where a key's N replicas live |
 * | `GET /` or `/cluster` | the cluster page (HTML; its `/cluster.js`, `/cluster.css`, `/favicon.svg`; see page.ts) |
 *
 * Errors are `{ error, code }`: 400 for bad input (`INVALID_CART_ID`, `INVALID_SKU`,
 * `INVALID_QTY`, `INVALID_JSON`, `INVALID_ARGUMENT`), 404 `NOT_FOUND`, 405
 * `METHOD_NOT_ALLOWED`, 413 `BODY_TOO_LARGE`, 503 when the cluster cannot serve the request
 * (`QUORUM_FAILED`, `TIMEOUT`, `STOPPING`, and the other `DynamoError` codes), 500 `INTERNAL`.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DynamoError, QuorumError, ValidationError, type Dynamo } from '../../src/index.js';
import { isQty, isSku } from './cart.js';
import { isCartId, type CartStore } from './cart-store.js';
import { log } from './log.js';
import { CLUSTER_CSP, CLUSTER_CSS, CLUSTER_HTML, CLUSTER_ICON, CLUSTER_JS } from './page.js';
import { RingSampler } from './ring-view.js';

/** What the API needs besides the carts. */
export interface ApiDeps {
  readonly store: CartStore;
  readonly dynamo: Pick<Dynamo, 'id' | 'members' | 'metrics' | 'hintsPending' | 'preferenceList' | 'ring' | 'placement'>;
  /** True once the process is shutting down. */
  readonly stopping: () => boolean;
}

/** Largest request body accepted, in bytes. */
const MAX_BODY_BYTES = 16 * 1024;

/** An error answered with `status` and `{ error: message, code, ...extra }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: object = {},
  ) {
    super(message);
  }
}

/** A non-JSON answer (the cluster page and its assets). */
class Asset {
  constructor(
    readonly contentType: string,
    readonly text: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {}
}

const PAGE = new Asset('text/html; charset=utf-8', CLUSTER_HTML, { 'content-security-policy': CLUSTER_CSP });
const SCRIPT = new Asset('text/javascript; charset=utf-8', CLUSTER_JS);
const STYLE = new Asset('text/css; charset=utf-8', CLUSTER_CSS);
const ICON = new Asset('image/svg+xml', CLUSTER_ICON);

type Handler = (params: readonly string[], request: IncomingMessage) => Promise<unknown>;

/** The request listener of the service's `http.Server`. */
export function createApi(deps: ApiDeps): (request: IncomingMessage, response: ServerResponse) => void {
  const { store, dynamo } = deps;
  const sampler = new RingSampler(dynamo);
  const routes: [method: string, path: RegExp, handler: Handler][] = [
    ['GET', /^\/carts\/([^/]+)$/, ([id]) => store.read(cartId(id))],
    ['POST', /^\/carts\/([^/]+)\/items$/, async ([id], request) => {
      const { sku, qty } = await itemOf(request);
      return store.add(cartId(id), sku, qty);
    }],
    ['DELETE', /^\/carts\/([^/]+)\/items\/([^/]+)$/, ([id, sku]) => store.remove(cartId(id), skuOf(sku))],
    ['GET', /^\/local\/carts\/([^/]+)$/, ([id]) => store.readLocal(cartId(id))],
    ['GET', /^\/members$/, async () => ({ members: dynamo.members() })],
    ['GET', /^\/metrics$/, async () => dynamo.metrics()],
    ['GET', /^\/health$/, async () => {
      const members = dynamo.members();
      const status = deps.stopping() ? 'stopping' : 'ok';
      const body = {
        status,
        id: dynamo.id,
        hintsPending: await dynamo.hintsPending(),
        up: members.filter((m) => m.status === 'up').length,
        down: members.filter((m) => m.status === 'down').length,
      };
      if (status !== 'ok') throw new HttpError(503, 'STOPPING', 'shutting down', body);
      return body;
    }],
    ['GET', /^\/ring$/, () => sampler.ring()],
    ['GET', /^\/placement$/, async (_, request) => sampler.placement(keyParam(request))],
    ['GET', /^\/(?:cluster)?$/, async () => PAGE],
    ['GET', /^\/cluster\.js$/, async () => SCRIPT],
    ['GET', /^\/cluster\.css$/, async () => STYLE],
    ['GET', /^\/favicon\.svg$/, async () => ICON],
  ];

  return (request, response) => {
    void route(routes, request).then(
      (body) => (body instanceof Asset ? sendAsset(response, body) : send(response, 200, body)),
      (error: unknown) => {
        const [status, body] = errorBody(error);
        if (status === 500) log('error', 'request failed', { method: request.method, url: request.url, err: error });
        send(response, status, body);
      },
    );
  };
}

async function route(routes: readonly [string, RegExp, Handler][], request: IncomingMessage): Promise<unknown> {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  const matching = routes.filter(([, pattern]) => pattern.test(path));
  if (matching.length === 0) throw new HttpError(404, 'NOT_FOUND', `no route ${path}`);
  const found = matching.find(([method]) => method === request.method);
  if (found === undefined) throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${request.method ?? '?'} not allowed on ${path}`);
  const [, pattern, handler] = found;
  const params = pattern.exec(path)!.slice(1).map(decode);
  return handler(params, request);
}

function decode(segment: string | undefined): string {
  try {
    return decodeURIComponent(segment ?? '');
  } catch {
    throw new HttpError(400, 'INVALID_PATH', 'malformed percent-encoding in the path');
  }
}

/** The `key` query parameter of `/placement`: any string key Dynamo accepts. */
function keyParam(request: IncomingMessage): string {
  const key = new URL(request.url ?? '/', 'http://localhost').searchParams.get('key');
  // Too long a key is Dynamo's ValidationError: a 400 as well.
  if (key === null || key === '') throw new HttpError(400, 'INVALID_KEY', 'give ?key= a key, e.g. cart:alice');
  return key;
}

function cartId(id: string | undefined): string {
  if (!isCartId(id)) throw new HttpError(400, 'INVALID_CART_ID', 'a cart id is 1-128 letters, digits, "_", "." or "-", starting with a letter or digit');
  return id;
}

function skuOf(sku: unknown): string {
  if (!isSku(sku)) throw new HttpError(400, 'INVALID_SKU', 'a sku is 1-64 letters, digits, "_", "." or "-", starting with a letter or digit');
  return sku;
}

async function itemOf(request: IncomingMessage): Promise<{ sku: string; qty: number }> {
  const body = await readJson(request);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'INVALID_JSON', 'the body must be a JSON object { "sku": string, "qty": integer }');
  }
  const { sku, qty = 1 } = body as { sku?: unknown; qty?: unknown };
  if (!isQty(qty)) throw new HttpError(400, 'INVALID_QTY', 'qty must be an integer from 1 to 1000000');
  return { sku: skuOf(sku), qty };
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'BODY_TOO_LARGE', `the body must be at most ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, 'INVALID_JSON', 'the body is not valid JSON');
  }
}

/** Status and body of a failed request. */
function errorBody(error: unknown): [number, object] {
  if (error instanceof HttpError) return [error.status, { error: error.message, code: error.code, ...error.extra }];
  if (error instanceof ValidationError) return [400, { error: error.message, code: error.code }];
  if (error instanceof QuorumError) return [503, { error: error.message, code: error.code, required: error.required, acks: error.acks }];
  // TIMEOUT, UNREACHABLE, CLOSED, NOT_STARTED, OVERLOADED…: the cluster cannot serve it now.
  if (error instanceof DynamoError) return [503, { error: error.message, code: error.code }];
  return [500, { error: 'internal error', code: 'INTERNAL' }];
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function sendAsset(response: ServerResponse, asset: Asset): void {
  response.writeHead(200, {
    'content-type': asset.contentType,
    'content-length': Buffer.byteLength(asset.text),
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    ...asset.headers,
  });
  response.end(asset.text);
}
