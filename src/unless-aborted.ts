/** Start-up steps a stop request (SIGTERM while connecting) must not wait for. */

/**
 * `pending`, or a rejection with the signal's reason as soon as `signal` aborts: a store that
 * accepted the connection and never answers must not hold a stop request. Whatever `pending`
 * opens after that is handed to `dispose`.
 */
export function unlessAborted<T>(
  pending: Promise<T>,
  signal: AbortSignal | undefined,
  dispose?: (value: T) => Promise<unknown>,
): Promise<T> {
  if (!signal) return pending;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      pending.then((value) => dispose?.(value)).catch(() => {});
      reject(signal.reason);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    pending.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
