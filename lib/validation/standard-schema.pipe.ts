import { Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { ErrorCode } from '../errors/error-codes.js';
import { SwitchboardError } from '../errors/switchboard.error.js';
import type { ValidationIssue } from '../errors/validation-issue.js';

/**
 * The Standard Schema interface (https://standardschema.dev) as far as this
 * pipe uses it; zod, valibot, arktype and others implement it. Declared here
 * so that no schema library is a dependency.
 */
export interface StandardSchema<Output = unknown> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    validate(value: unknown): StandardResult<Output> | Promise<StandardResult<Output>>;
  };
}

type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<{ readonly message: string; readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> }> };

/**
 * Validates a message body with a Standard Schema validator and answers a
 * failure with `VALIDATION_FAILED`, details field by field. The schema comes
 * from the constructor or, on Nest 12, from `@MessageBody({ schema })`. The
 * value the schema produces (coerced, defaulted) replaces the input.
 *
 * ```ts
 * const Join = z.object({ room: z.string().min(1) });
 * @SubscribeMessage('join')
 * join(@MessageBody(new StandardSchemaPipe(Join)) body: z.infer<typeof Join>) { ... }
 * ```
 */
@Injectable()
export class StandardSchemaPipe implements PipeTransform {
  constructor(private readonly schema?: StandardSchema) {}

  async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const schema = this.schema ?? (metadata as ArgumentMetadata & { schema?: StandardSchema }).schema;
    if (schema === undefined) {
      return value;
    }
    const result = await schema['~standard'].validate(value);
    if (result.issues === undefined) {
      return result.value;
    }
    const byField = new Map<string, string[]>();
    for (const issue of result.issues) {
      const field = (issue.path ?? []).map((segment) => String(typeof segment === 'object' && segment !== null ? segment.key : segment)).join('.');
      byField.set(field, [...(byField.get(field) ?? []), issue.message]);
    }
    const details: ValidationIssue[] = [...byField].map(([field, messages]) => ({ field, messages }));
    throw new SwitchboardError(ErrorCode.VALIDATION_FAILED, 'Validation failed', details);
  }
}
