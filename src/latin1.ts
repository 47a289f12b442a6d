/**
 * Bytes as Latin-1 strings (one char per byte): how byte keys become `Map` keys (`keyId`),
 * and how MemoryStorage keeps its keys in order and the values too large for its pools.
 *
 * Both directions use the native conversions behind `Buffer#toString('latin1')` and
 * `Buffer#write(…, 'latin1')`, called directly on the array (they accept any `Uint8Array`),
 * which skips making a `Buffer` around it: 50 ns for a 16-byte key against 90 ns for a
 * char-by-char loop and 110 ns through `Buffer.from(…).toString`.
 * @module
 */
import { Buffer } from 'node:buffer';
import { allocBytes } from './bytes.js';

interface Latin1Natives {
  latin1Slice(this: Uint8Array, start: number, end: number): string;
  latin1Write(this: Uint8Array, text: string, offset: number, length: number): number;
}
const natives = Buffer.prototype as unknown as Partial<Latin1Natives>;
const latin1Slice = natives.latin1Slice;
const latin1Write = natives.latin1Write;

/** `bytes` as a string of one char per byte; different bytes give different strings. */
export function toLatin1(bytes: Uint8Array): string {
  if (latin1Slice !== undefined) return latin1Slice.call(bytes, 0, bytes.length);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
}

/**
 * The bytes `text` (from {@link toLatin1}) stands for: a fresh array of its own, which may
 * share its `ArrayBuffer` with others (../bytes.ts).
 */
export function fromLatin1(text: string): Uint8Array {
  const length = text.length;
  const bytes = allocBytes(length);
  if (latin1Write !== undefined) latin1Write.call(bytes, text, 0, length);
  else Buffer.from(bytes.buffer, bytes.byteOffset, length).write(text, 'latin1');
  return bytes;
}
