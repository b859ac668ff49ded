/**
 * `instanceof` that survives the dual-package hazard. The package ships an
 * ESM and a CJS build; a process that loads both (an ESM app with a CJS
 * test helper, say) has two copies of each class, and a plain `instanceof`
 * against the other copy is false. A branded class answers `instanceof` by a
 * process-wide symbol its instances carry, so both copies recognise each
 * other's instances; its subclasses keep the ordinary prototype check.
 */
export function brandClass(target: abstract new (...args: never[]) => object, name: string): symbol {
  const brand = Symbol.for(`nestjs-switchboard.${name}`);
  Object.defineProperty(target.prototype, brand, { value: true });
  Object.defineProperty(target, Symbol.hasInstance, {
    value(this: unknown, value: unknown): boolean {
      if (this !== target) {
        return Function.prototype[Symbol.hasInstance].call(this, value);
      }
      return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
    },
  });
  return brand;
}
