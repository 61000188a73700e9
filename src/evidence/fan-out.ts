/**
 * One read of a trail for several consumers: each consumer gets its own async iterable over the
 * same items, fed in lockstep from one pass over the source (at most `window` items ahead of the
 * slowest consumer), so a pack reads the trail once per form (stored text, parsed rows) however
 * many facts it folds from it. A consumer that stops early is dropped; a source that throws
 * rejects every consumer still reading.
 */
const WINDOW = 256;

interface Lane<T> {
  readonly queue: T[];
  wake: (() => void) | undefined;
  stopped: boolean;
}

type Consumers<T, R extends readonly unknown[]> = { readonly [K in keyof R]: (items: AsyncIterable<T>) => Promise<R[K]> };

export async function fanOut<T, R extends readonly unknown[]>(source: AsyncIterable<T>, consumers: Consumers<T, R>, window = WINDOW): Promise<R> {
  const lanes: Lane<T>[] = consumers.map(() => ({ queue: [], wake: undefined, stopped: false }));
  let ended = false;
  let failure: { error: unknown } | undefined;
  let drained: (() => void) | undefined;
  const wakeAll = (): void => {
    for (const lane of lanes) lane.wake?.();
  };
  const iterableOf = (lane: Lane<T>): AsyncIterable<T> => ({
    [Symbol.asyncIterator]: () => ({
      async next(): Promise<IteratorResult<T>> {
        for (;;) {
          if (lane.queue.length > 0) {
            const value = lane.queue.shift()!;
            if (lane.queue.length <= window / 2) drained?.();
            return { done: false, value };
          }
          if (failure) throw failure.error;
          if (ended) return { done: true, value: undefined };
          await new Promise<void>((resolve) => (lane.wake = resolve));
          lane.wake = undefined;
        }
      },
      async return(): Promise<IteratorResult<T>> {
        stop(lane);
        return { done: true, value: undefined };
      },
    }),
  });
  const stop = (lane: Lane<T>): void => {
    lane.stopped = true;
    lane.queue.length = 0;
    drained?.();
  };
  // A consumer that returns or throws without reading to the end no longer holds the others back.
  const results = Promise.all(consumers.map((consume, i) => consume(iterableOf(lanes[i]!)).finally(() => stop(lanes[i]!)))) as unknown as Promise<R>;
  const pump = (async () => {
    try {
      for await (const item of source) {
        const open = lanes.filter((l) => !l.stopped);
        if (open.length === 0) break;
        for (const lane of open) {
          lane.queue.push(item);
          lane.wake?.();
        }
        while (open.some((l) => !l.stopped && l.queue.length >= window)) await new Promise<void>((resolve) => (drained = resolve));
        drained = undefined;
      }
    } catch (error) {
      failure = { error };
    }
    ended = true;
    wakeAll();
  })();
  const [out] = await Promise.all([results, pump]);
  return out;
}
