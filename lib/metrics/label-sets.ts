/**
 * One value per combination of up to three label values, found without
 * building a key string: the hot path looks a label set up on every handler
 * and every broadcast, and nested maps of the (few, bounded) values cost a
 * few map lookups and no allocation once the set exists.
 */
export class LabelSets<T> {
  private readonly table = new Map<string, Map<string, Map<string, T>>>();
  private readonly all: T[] = [];

  constructor(private readonly make: (a: string, b: string, c: string) => T) {}

  get(a: string, b = '', c = ''): T {
    let byB = this.table.get(a);
    if (byB === undefined) {
      byB = new Map();
      this.table.set(a, byB);
    }
    let byC = byB.get(b);
    if (byC === undefined) {
      byC = new Map();
      byB.set(b, byC);
    }
    let value = byC.get(c);
    if (value === undefined) {
      value = this.make(a, b, c);
      byC.set(c, value);
      this.all.push(value);
    }
    return value;
  }

  values(): readonly T[] {
    return this.all;
  }

  get size(): number {
    return this.all.length;
  }

  clear(): void {
    this.table.clear();
    this.all.length = 0;
  }
}

/**
 * The bucket counts of one label set of a histogram. Observing is a short
 * scan of the bounds and three increments; the Prometheus exporter renders
 * the cells when scraped. (prom-client's own `observe` validates and hashes
 * the labels on every call, about 1.4 µs, which a per-message hook should not pay.)
 */
export class HistogramCell {
  /** Observations per bucket, not cumulative: `counts[i]` holds values in (bounds[i-1], bounds[i]]; the last, values above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let index = 0;
    while (index < bounds.length && value > bounds[index]) {
      index++;
    }
    this.counts[index]++;
    this.sum += value;
    this.count++;
  }
}
