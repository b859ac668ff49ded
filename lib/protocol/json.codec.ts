import type { Codec } from '../interfaces/codec.interface.js';

export interface JsonCodecOptions {
  /**
   * Also read JSON sent in binary frames, as `@nestjs/platform-ws` does.
   * Off by default: a binary frame to a JSON gateway is answered as
   * `UNSUPPORTED_DATA`. Turn it on when migrating clients that send
   * `Buffer`s of JSON.
   * @default false
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
    this.acceptsBothKinds = options.acceptBinary ?? false;
  }

  decode(frame: Buffer): unknown {
    return JSON.parse(frame.toString());
  }

  encode(value: unknown): string {
    return JSON.stringify(value);
  }
}
