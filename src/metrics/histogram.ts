/**
 * A log-linear latency histogram (the HdrHistogram idea, small): each power of two is split
 * into 16 linear sub-buckets, so a recorded value is known to within 1/16 (6.25%) however
 * large, in constant memory and O(1) per record.
 * @module
 */

const SUB_BUCKET_BITS = 4;
const SUB_BUCKETS = 1 << SUB_BUCKET_BITS;
/** Exponents above this (values past ~2^44 µs, half a year) share the top bucket. */
const MAX_EXPONENT = 40;
const BUCKETS = (MAX_EXPONENT + 2) * SUB_BUCKETS;

/**
 * Bucket of a non-negative integer. Values below 16 have a bucket each; above, a value v with
 * v / 2^e in [16, 32) lands in bucket 16·(e+1) + (v / 2^e − 16).
 */
function bucketOf(value: number): number {
  if (value < SUB_BUCKETS) return value;
  if (value < 2 ** 31) {
    // Exact integer arithmetic for every latency below 35 minutes of microseconds.
    const exponent = 31 - Math.clz32(value) - SUB_BUCKET_BITS;
    return exponent * SUB_BUCKETS + (value >>> exponent);
  }
  let exponent = Math.floor(Math.log2(value)) - SUB_BUCKET_BITS;
  // log2 of a double can be off by one next to powers of two: correct it.
  if (Math.floor(value / 2 ** exponent) >= 2 * SUB_BUCKETS) exponent++;
  else if (Math.floor(value / 2 ** exponent) < SUB_BUCKETS) exponent--;
  if (exponent > MAX_EXPONENT) return BUCKETS - 1;
  return exponent * SUB_BUCKETS + Math.floor(value / 2 ** exponent);
}

/** Largest value that lands in `bucket` (so reported percentiles never understate). */
function upperBound(bucket: number): number {
  if (bucket < SUB_BUCKETS) return bucket;
  const exponent = Math.floor(bucket / SUB_BUCKETS) - 1;
  const sub = bucket - exponent * SUB_BUCKETS;
  return (sub + 1) * 2 ** exponent - 1;
}

/** Records non-negative values (e.g. latencies in microseconds) and answers percentiles. */
export class Histogram {
  #counts = new Float64Array(BUCKETS);
  #count = 0;
  #sum = 0;
  #max = 0;

  record(value: number): void {
    const v = value > 0 ? Math.round(value) : 0;
    this.#counts[bucketOf(v)]! += 1;
    this.#count++;
    this.#sum += v;
    if (v > this.#max) this.#max = v;
  }

  get count(): number {
    return this.#count;
  }

  get mean(): number {
    return this.#count === 0 ? 0 : this.#sum / this.#count;
  }

  get max(): number {
    return this.#max;
  }

  /** The value at percentile `p` (0..100), within the bucket precision; 0 when empty. */
  percentile(p: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(upperBound(i), this.#max);
    }
    return this.#max;
  }

  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#sum = 0;
    this.#max = 0;
  }
}
