/**
 * One field's validation problems, as error acks and `exception` events
 * carry them in `error.details` for `VALIDATION_FAILED`.
 */
export interface ValidationIssue {
  /** Dotted path of the field (`address.city`, `items.0.qty`); empty for the body itself. */
  field: string;
  messages: string[];
  /** class-validator constraint names and their messages, when known. */
  constraints?: Record<string, string>;
}

/** The shape of class-validator's ValidationError this module reads. */
export interface ClassValidatorError {
  property: string;
  constraints?: Record<string, string>;
  children?: ClassValidatorError[];
}

/** Flattens class-validator errors (nested ones included) into one issue per field. */
export function issuesFromClassValidator(errors: readonly ClassValidatorError[], parent = ''): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const error of errors) {
    const field = parent === '' ? error.property : `${parent}.${error.property}`;
    if (error.constraints !== undefined && Object.keys(error.constraints).length > 0) {
      issues.push({ field, messages: Object.values(error.constraints), constraints: { ...error.constraints } });
    }
    if (error.children !== undefined && error.children.length > 0) {
      issues.push(...issuesFromClassValidator(error.children, field));
    }
  }
  return issues;
}

/** `<property> must ...`, `<property> should ...`: how class-validator phrases its messages. */
const CLASS_VALIDATOR_MESSAGE = /^[\w.$[\]-]+ (must|should|has|is|cannot|contains|each) /;

/**
 * Groups the flat messages Nest's pipes produce by field. class-validator
 * messages start with the property (`age must be an integer number`); the
 * Standard Schema pipe prefixes a path (`address.city: Required`).
 */
export function issuesFromMessages(messages: readonly unknown[]): ValidationIssue[] {
  const byField = new Map<string, string[]>();
  for (const raw of messages) {
    const message = String(raw);
    const colon = message.indexOf(': ');
    const space = message.indexOf(' ');
    let field = '';
    let text = message;
    if (colon > 0 && (space === -1 || colon < space)) {
      field = message.slice(0, colon);
      text = message.slice(colon + 2);
    } else if (CLASS_VALIDATOR_MESSAGE.test(message)) {
      field = message.slice(0, space);
    }
    const list = byField.get(field) ?? [];
    list.push(text);
    byField.set(field, list);
  }
  return [...byField].map(([field, list]) => ({ field, messages: list }));
}
