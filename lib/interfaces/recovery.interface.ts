/**
 * Connection-state recovery (`SwitchboardModule.forRoot({ recovery })`, or
 * the adapter's `recovery` option when there is no module): every
 * broadcast to exactly one room gets a stream position, clients keep theirs,
 * and a client that reconnects (to any node) gets what it missed replayed
 * in order, or `recovered: false` for that room. Needs a broker with history
 * (the in-memory default, Redis); NATS answers `recovered: false`.
 */
export interface RecoveryOptions {
  /** Messages kept per room (a busy room never evicts another's). @default 1000 */
  readonly historySize?: number;
  /** Milliseconds a message stays replayable; an idle room's stream expires this long after its last message. @default 120000 */
  readonly historyTtl?: number;
  /** Milliseconds a disconnected session can be recovered. @default 120000 */
  readonly sessionTtl?: number;
  /** Acks remembered per session, so a request sent again after a reconnect is answered, not run again. @default 1000 */
  readonly dedupWindow?: number;
}

export type ResolvedRecoveryOptions = Required<RecoveryOptions>;

export const RECOVERY_DEFAULTS: ResolvedRecoveryOptions = { historySize: 1000, historyTtl: 120_000, sessionTtl: 120_000, dedupWindow: 1000 };
