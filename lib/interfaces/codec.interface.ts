/**
 * Turns frames into values and values into frames. One codec serves a whole
 * gateway, in both directions; the default is {@link JsonCodec}.
 *
 * `decode` may throw: the adapter answers a throwing decode as `DECODE_FAILED`
 * (the client sent something unreadable), and never logs it at error level.
 */
export interface Codec {
  /** Short name for logs and stats, e.g. `"json"`, `"msgpack"`. */
  readonly name: string;
  /**
   * `false`: frames are text (`encode` returns a string, binary frames are
   * refused with `UNSUPPORTED_DATA`). `true`: frames are binary (`encode` returns
   * a Buffer, text frames are refused).
   */
  readonly binary: boolean;
  /**
   * Also decode frames of the other kind (JSON in binary frames, for
   * example). Off by default: the frame kind is part of the contract.
   */
  readonly acceptsBothKinds?: boolean;
  decode(frame: Buffer): unknown;
  encode(value: unknown): string | Buffer;
}
