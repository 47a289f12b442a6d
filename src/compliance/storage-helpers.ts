/**
 * Helpers of the Storage compliance suite: building keys and ops, and comparing what a
 * backend returns (perhaps `Buffer`s) with what was expected, by hex.
 * @module
 */
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import type { IterateOptions, StorageOp } from '../storage/storage.js';

/** A `Uint8Array` of the given bytes. */
export function b(...bytes: number[]): Uint8Array {
  return Uint8Array.from(bytes);
}

/** The UTF-8 bytes of `s`. */
export function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** A put op. */
export function put(space: string, key: Uint8Array, value: Uint8Array): StorageOp {
  return { type: 'put', space, key, value };
}

/** A del op. */
export function del(space: string, key: Uint8Array): StorageOp {
  return { type: 'del', space, key };
}

/** Hex of the bytes, `'undefined'` for none: compares a `Buffer` and a `Uint8Array` alike. */
export function hex(bytes: Uint8Array | undefined): string {
  return bytes === undefined ? 'undefined' : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Asserts `actual` is a `Uint8Array` (a `Buffer` will do) holding exactly `expected`'s bytes. */
export function assertBytes(actual: Uint8Array | undefined, expected: Uint8Array): void {
  assert.ok(actual instanceof Uint8Array, `expected a Uint8Array, got ${String(actual)}`);
  assert.equal(hex(actual), hex(expected));
}

/** Every entry an iteration yields, as `[hex key, hex value]`. */
export async function entries(iterable: AsyncIterable<[Uint8Array, Uint8Array]>): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const [key, value] of iterable) out.push([hex(key), hex(value)]);
  return out;
}

/** Bytewise unsigned order, written independently of any backend. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length && i < b.length; i++) {
    if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  }
  return a.length - b.length;
}

/** Whether `key` lies within the `gte`/`lt` bounds of `options`. */
export function inBounds(key: Uint8Array, options: IterateOptions): boolean {
  return (options.gte === undefined || compareBytes(key, options.gte) >= 0) && (options.lt === undefined || compareBytes(key, options.lt) < 0);
}

