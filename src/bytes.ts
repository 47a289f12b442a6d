/**
 * Byte arrays for the hot paths, carved from shared slabs.
 *
 * V8 keeps a typed array's bytes on its own heap only up to 64 bytes; a larger
 * `new Uint8Array(n)` (or `.slice()`) is a native allocation plus an `ArrayBuffer` the
 * collector must track, about 1–2.5 µs apiece on Node 20, against ~40 ns for a view into a
 * slab. A put or get makes several records and values of 100–200 bytes, so this was a large
 * part of a request's cost (`bench/cluster.ts`). Small arrays come from slabs too: the first
 * `.subarray()` or `.buffer` of an array kept on V8's heap moves its bytes out at the same
 * price, and the hot paths take views of records and keys.
 *
 * The price is Node's own `Buffer` pool's: an array handed out here shares its
 * `ArrayBuffer` with others (always use `byteOffset`), and keeping it alive keeps its slab
 * (16 KiB) alive. Use it for bytes that are decoded, sent or copied and then dropped, not for
 * what is kept for long.
 * @module
 */
import { Buffer } from 'node:buffer';

/** Bytes per slab. Node's pool is 8 KiB; twice that halves the slab allocations. */
const SLAB_BYTES = 16 * 1024;
/** Larger requests get an array of their own: they would waste too much of a slab. */
const MAX_POOLED = SLAB_BYTES / 8;

let slab = new ArrayBuffer(SLAB_BYTES);
let used = 0;

/** An array of `length` zero bytes (a slab's bytes are handed out once, never reused). */
export function allocBytes(length: number): Uint8Array {
  if (length > MAX_POOLED) return new Uint8Array(length);
  if (used + length > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    used = 0;
  }
  const bytes = new Uint8Array(slab, used, length);
  // Keep every array 8-byte aligned, as Node's pool does, for DataView and Float64 reads.
  used += (length + 7) & ~7;
  return bytes;
}

/** A copy of `bytes` (from {@link allocBytes}). */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  const out = allocBytes(bytes.length);
  out.set(bytes);
  return out;
}

/** Whether `a` and `b` hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
