/**
 * Awaiting what only unreferenced handles will settle (a SQLite worker thread, its idle timer:
 * an idle worker must never keep a process alive). Node 24's test runner keeps the event loop
 * alive while a test is pending; Node 22's does not and cancels the test ("Promise resolution is
 * still pending but the event loop has already resolved"), so the wait holds the loop open itself.
 */
export async function held<T>(promise: Promise<T>): Promise<T> {
  const timer = setInterval(() => {}, 60_000);
  try {
    return await promise;
  } finally {
    clearInterval(timer);
  }
}
