/**
 * MemoryStorage's values and keys, kept off the JS heap.
 *
 * A value held as a JS string is copied by the young-generation collector when it is
 * stored, promoted, and then marked by every major collection for as long as it lives: in
 * the in-process cluster most of what survived a scavenge was values just stored, and those
 * pauses set the tail latency. Here a value is copied once into a chunk of a 64 KiB page
 * (an `ArrayBuffer`, which no collector looks into) and named by a small integer, which
 * a typed array holds without an object of its own. The key table (./key-table.ts) keeps
 * its keys in a pool of its own the same way, and compares them in place ({@link
 * ValuePool.equals}).
 *
 * Chunks come in size classes 16 bytes apart (a 2-byte length, then the value), so a freed
 * chunk is reused by the next value of its class and no page ever needs compacting; the
 * cost is under 16 bytes a value. Pages are kept once made, as a malloc arena keeps its
 * memory: a space that shrinks keeps its peak.
 * @module
 */
import { fromLatin1, toLatin1 } from '../latin1.js';

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
    const page = this.#page(ref);
    const at = offsetOf(this.#classes[ref & (CLASSES - 1)]!, ref >>> CLASS_BITS);
    const length = page[at]! | (page[at + 1]! << 8);
    const out = alloc(length);
    out.set(page.subarray(at + LENGTH_BYTES, at + LENGTH_BYTES + length));
    return out;
  }

  /**
   * The value `ref` names, in place: a view into its page, valid only until `ref` is freed
   * or replaced, and not to be written. Saves the copy when the bytes are only looked at.
   */
  view(ref: number): Uint8Array {
    const page = this.#page(ref);
    const at = offsetOf(this.#classes[ref & (CLASSES - 1)]!, ref >>> CLASS_BITS);
    const length = page[at]! | (page[at + 1]! << 8);
    return page.subarray(at + LENGTH_BYTES, at + LENGTH_BYTES + length);
  }

  /**
   * Whether the value `ref` names is exactly `bytes`, compared in place. Makes no object, so
   * a hash table can keep its keys here and look them up without garbage.
   */
  equals(ref: number, bytes: Uint8Array): boolean {
    const length = bytes.length;
    const index = ref & (CLASSES - 1);
    // A value of another size class has another length: decided without touching the page.
    if (length > MAX_POOLED_VALUE || classOf(length) !== index) return false;
    const page = this.#page(ref);
    const at = offsetOf(this.#classes[index]!, ref >>> CLASS_BITS);
    if ((page[at]! | (page[at + 1]! << 8)) !== length) return false;
    const from = at + LENGTH_BYTES;
    for (let i = 0; i < length; i++) if (page[from + i] !== bytes[i]) return false;
    return true;
  }

  /** Gives the chunk of `ref` back; `ref` must not be used again. */
  free(ref: number): void {
    this.#classes[ref & (CLASSES - 1)]!.free.push(ref >>> CLASS_BITS);
  }

  /** The page that holds `ref`'s chunk. */
  #page(ref: number): Uint8Array {
    const sizeClass = this.#classes[ref & (CLASSES - 1)]!;
    return sizeClass.pages[Math.floor((ref >>> CLASS_BITS) / sizeClass.perPage)]!;
  }
}

function classOf(length: number): number {
  return ((length + LENGTH_BYTES + STEP - 1) >>> 4) - 1;
}

function makeClass(index: number): SizeClass {
  const chunk = (index + 1) * STEP;
  return { chunk, perPage: Math.floor(PAGE_BYTES / chunk), pages: [], free: [], used: 0 };
}

/** Where `slot`'s chunk starts in its page. */
function offsetOf(sizeClass: SizeClass, slot: number): number {
  return (slot % sizeClass.perPage) * sizeClass.chunk;
}

function write(sizeClass: SizeClass, slot: number, bytes: Uint8Array): void {
  const page = sizeClass.pages[Math.floor(slot / sizeClass.perPage)]!;
  const at = offsetOf(sizeClass, slot);
  page[at] = bytes.length & 0xff;
  page[at + 1] = bytes.length >>> 8;
  page.set(bytes, at + LENGTH_BYTES);
}

/**
 * What a {@link ValuePool} declines (longer than {@link MAX_POOLED_VALUE}, or its class is
 * full), kept as Latin-1 strings: one flat object each, which the collector marks but never
 * looks into. Such values are rare, so they are kept simply, in an array whose freed
 * indexes are reused; an index stays below 2^30, so a caller can flag it with bit 30.
 */
export class LargeValues {
  readonly #texts: (string | undefined)[] = [];
  /** Indexes freed and not reused yet. */
  readonly #free: number[] = [];

  /** Keeps a copy of `bytes`; the index to read it back with. */
  add(bytes: Uint8Array): number {
    const text = toLatin1(bytes);
    const index = this.#free.pop();
    if (index === undefined) return this.#texts.push(text) - 1;
    this.#texts[index] = text;
    return index;
  }

  /** A copy of the value at `index` (an array from ../bytes.ts). */
  read(index: number): Uint8Array {
    return fromLatin1(this.#texts[index]!);
  }

  /** The value at `index` as the Latin-1 string it is kept as. */
  text(index: number): string {
    return this.#texts[index]!;
  }

  /** Whether the value at `index` is exactly `bytes`; makes no object. */
  equals(index: number, bytes: Uint8Array): boolean {
    const text = this.#texts[index]!;
    const length = bytes.length;
    if (text.length !== length) return false;
    for (let i = 0; i < length; i++) if (text.charCodeAt(i) !== bytes[i]) return false;
    return true;
  }

  /** Drops the value at `index`, which may then be handed out again. */
  free(index: number): void {
    this.#texts[index] = undefined;
    this.#free.push(index);
  }
}
