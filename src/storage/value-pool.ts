/**
 * MemoryStorage's values, kept off the JS heap.
 *
 * A value held as a JS string is copied by the young-generation collector when it is
 * stored, promoted, and then marked by every major collection for as long as it lives: in
 * the in-process cluster most of what survived a scavenge was values just stored, and those
 * pauses set the tail latency. Here a value is copied once into a chunk of a 64 KiB page
 * (an `ArrayBuffer`, which no collector looks into) and named by a small integer, which a
 * `Map` holds without an object of its own.
 *
 * Chunks come in size classes 16 bytes apart (a 2-byte length, then the value), so a freed
 * chunk is reused by the next value of its class and no page ever needs compacting; the
 * cost is under 16 bytes a value. Pages are kept once made, as a malloc arena keeps its
 * memory: a space that shrinks keeps its peak.
 * @module
 */

/** Bytes per chunk size step; also the smallest chunk. */
const STEP = 16;
/** Size classes: chunks of STEP to STEP * CLASSES bytes. */
const CLASSES = 256;
const CLASS_BITS = 8;
/** Bytes per page. */
const PAGE_BYTES = 64 * 1024;
/** Slots per class stay below this, so every ref is below 2^30: a small integer to V8. */
const MAX_SLOTS = 1 << (30 - CLASS_BITS);
/** Room for the length in front of each value. */
const LENGTH_BYTES = 2;

/** The largest value a chunk holds; larger ones are the caller's to keep. */
export const MAX_POOLED_VALUE = STEP * CLASSES - LENGTH_BYTES;

interface SizeClass {
  readonly chunk: number;
  readonly perPage: number;
  readonly pages: Uint8Array[];
  /** Slots freed and not reused yet. */
  readonly free: number[];
  /** Slots ever handed out. */
  used: number;
}

export class ValuePool {
  readonly #classes: (SizeClass | undefined)[] = new Array<SizeClass | undefined>(CLASSES).fill(undefined);

  /**
   * Stores a copy of `bytes`; the ref to read it back with, or `undefined` when it does not
   * fit (longer than {@link MAX_POOLED_VALUE}, or its class is full).
   */
  store(bytes: Uint8Array): number | undefined {
    const length = bytes.length;
    if (length > MAX_POOLED_VALUE) return undefined;
    const index = classOf(length);
    const sizeClass = (this.#classes[index] ??= makeClass(index));
    let slot = sizeClass.free.pop();
    if (slot === undefined) {
      if (sizeClass.used === MAX_SLOTS) return undefined;
      slot = sizeClass.used++;
      if (slot >= sizeClass.pages.length * sizeClass.perPage) sizeClass.pages.push(new Uint8Array(PAGE_BYTES));
    }
    write(sizeClass, slot, bytes);
    return (slot << CLASS_BITS) | index;
  }

  /**
   * Stores `bytes` in place of the value `ref` names: in the same chunk when its class is
   * the same, else as {@link store} does after freeing `ref`.
   */
  replace(ref: number, bytes: Uint8Array): number | undefined {
    const index = ref & (CLASSES - 1);
    if (bytes.length <= MAX_POOLED_VALUE && classOf(bytes.length) === index) {
      write(this.#classes[index]!, ref >>> CLASS_BITS, bytes);
      return ref;
    }
    this.free(ref);
    return this.store(bytes);
  }

  /** A copy of the value `ref` names, in an array from `alloc`. */
  read(ref: number, alloc: (length: number) => Uint8Array): Uint8Array {
    const sizeClass = this.#classes[ref & (CLASSES - 1)]!;
    const slot = ref >>> CLASS_BITS;
    const page = sizeClass.pages[Math.floor(slot / sizeClass.perPage)]!;
    const at = (slot % sizeClass.perPage) * sizeClass.chunk;
    const length = page[at]! | (page[at + 1]! << 8);
    const out = alloc(length);
    out.set(page.subarray(at + LENGTH_BYTES, at + LENGTH_BYTES + length));
    return out;
  }

  /** Gives the chunk of `ref` back; `ref` must not be used again. */
  free(ref: number): void {
    this.#classes[ref & (CLASSES - 1)]!.free.push(ref >>> CLASS_BITS);
  }
}

function classOf(length: number): number {
  return ((length + LENGTH_BYTES + STEP - 1) >>> 4) - 1;
}

function makeClass(index: number): SizeClass {
  const chunk = (index + 1) * STEP;
  return { chunk, perPage: Math.floor(PAGE_BYTES / chunk), pages: [], free: [], used: 0 };
}

function write(sizeClass: SizeClass, slot: number, bytes: Uint8Array): void {
  const page = sizeClass.pages[Math.floor(slot / sizeClass.perPage)]!;
  const at = (slot % sizeClass.perPage) * sizeClass.chunk;
  page[at] = bytes.length & 0xff;
  page[at + 1] = bytes.length >>> 8;
  page.set(bytes, at + LENGTH_BYTES);
}
