// Small statistics helpers shared by the load generators and the report.

export function median(values) {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) {
    return null;
  }
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Nearest-rank percentile of an already sorted typed array or array. */
export function percentile(sorted, p) {
  if (sorted.length === 0) {
    return null;
  }
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** (max - min) / median, in percent: how far apart the runs of one configuration are. */
export function spreadPercent(values) {
  const finite = values.filter((value) => Number.isFinite(value));
  const mid = median(finite);
  if (finite.length < 2 || !mid) {
    return null;
  }
  return ((Math.max(...finite) - Math.min(...finite)) / Math.abs(mid)) * 100;
}

/**
 * Latency samples in a growable Float64Array: recording is one store, and
 * the percentiles are exact (sorted once at the end) rather than bucketed.
 */
export class Samples {
  constructor(initialCapacity = 1 << 20) {
    this.values = new Float64Array(initialCapacity);
    this.length = 0;
  }

  add(value) {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }

  addAll(other) {
    for (let i = 0; i < other.length; i++) {
      this.add(other.values[i]);
    }
  }

  sorted() {
    return this.values.subarray(0, this.length).sort();
  }
}
