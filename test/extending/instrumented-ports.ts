// Instrumented ports for tests: wrap any adapter and record every method called on it, in order.

/** An adapter whose calls are recorded in `calls` (method names). */
export type Recorded<T> = T & { readonly calls: string[] };

/** Wraps `target` so every method call is recorded before it is forwarded. */
export function recording<T extends object>(target: T): Recorded<T> {
  const calls: string[] = [];
  return new Proxy(target, {
    get(object, property, receiver) {
      if (property === 'calls') return calls;
      const value = Reflect.get(object, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(property));
        return (value as (...a: unknown[]) => unknown).apply(object, args);
      };
    },
  }) as Recorded<T>;
}
