/** Why an upgrade was refused before it happened. */
export type SlotRefusal = 'total' | 'per-ip' | undefined;

/**
 * Counts the connections of one gateway, handshakes in progress included
 * (so a burst of concurrent upgrades cannot slip past a cap), in total and
 * per IP address. A slot is taken when an upgrade is routed and given back
 * when the handshake fails or the socket closes.
 */
export class ConnectionSlots {
  private total = 0;
  private readonly perIp = new Map<string, number>();

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerIp: number,
  ) {}

  get enabled(): boolean {
    return this.maxTotal > 0 || this.maxPerIp > 0;
  }

  /** Takes a slot, or says which cap refuses it. */
  take(ip: string): SlotRefusal {
    if (this.maxTotal > 0 && this.total >= this.maxTotal) {
      return 'total';
    }
    const count = this.perIp.get(ip) ?? 0;
    if (this.maxPerIp > 0 && count >= this.maxPerIp) {
      return 'per-ip';
    }
    this.total++;
    this.perIp.set(ip, count + 1);
    return undefined;
  }

  release(ip: string): void {
    this.total--;
    const count = (this.perIp.get(ip) ?? 1) - 1;
    if (count > 0) {
      this.perIp.set(ip, count);
    } else {
      this.perIp.delete(ip);
    }
  }
}
