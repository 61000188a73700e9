/** Test helpers of the kernel (a test door other modules' tests may import). */

/**
 * Whether the event loop ran while a store call waited: ms from `started` (taken before the call)
 * until a `setTimeout(0)` queued after it ran, and how many 1 ms timer ticks ran in the `windowMs`
 * after. A call that blocks the loop (a synchronous sleep on a lock) shows a first tick as late as
 * its wait.
 */
export async function probeEventLoop(started: number, windowMs: number): Promise<{ firstTickMs: number; ticks: number }> {
  const firstTickMs = await new Promise<number>((resolve) => setTimeout(() => resolve(performance.now() - started), 0));
  let ticks = 0;
  const interval = setInterval(() => ticks++, 1);
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  clearInterval(interval);
  return { firstTickMs, ticks };
}
