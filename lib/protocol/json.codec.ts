import type { Codec } from '../interfaces/codec.interface.js';

export interface JsonCodecOptions {
  /**
   * Also read JSON sent in binary frames, as `@nestjs/platform-ws` does (Node
   * clients often send `Buffer`s). `false` refuses binary frames as
   * `UNSUPPORTED_DATA` (or closes with 1003 under `invalidMessage: 'close'`).
   * @default true
   */
  acceptBinary?: boolean;
}

/**
 * The default codec: UTF-8 JSON in text frames. `JSON.parse` creates
 * `__proto__` as a plain own key, so decoded messages cannot pollute
 * prototypes; the dispatcher looks events up in a `Map`, never on an object.
 */
export class JsonCodec implements Codec {
  readonly name = 'json';
  readonly binary = false;
  readonly acceptsBothKinds: boolean;

  constructor(options: JsonCodecOptions = {}) {
    this.acceptsBothKinds = options.acceptBinary ?? true;
  }

  decode(frame: Buffer): unknown {
    return JSON.parse(frame.toString());
  }

  encode(value: unknown): string {
    return JSON.stringify(value);
  }
}
