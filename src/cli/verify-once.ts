/**
 * `audit verify --expect-head` with checkpoint keys runs two verifiers over the stored rows: the
 * chain pass (`verifyChain`, which checks the head written down elsewhere, and the hash column)
 * and the signed pass (`verifyExport`: checkpoints, signatures, anchors). Here the rows are read
 * once and handed to both as they arrive, the reader at most `AHEAD` rows in front of the slower.
 */
import { verifyChain, verifyExport } from '../audit/index.js';
import type { ChainHead, ExportReport, ExportVerifyOptions, RawRow, VerifyReport } from '../audit/index.js';

const AHEAD = 256;

/**
 * The chain's break, else the signed pass's report. When the chain breaks the signed pass gets no
 * more rows (its report, of a cut trail, is dropped). An error of either pass is thrown, the chain's first.
 */
export async function verifyChainAndCheckpoints(
  rows: AsyncIterable<RawRow>,
  expectHead: ChainHead,
  options: ExportVerifyOptions,
): Promise<{ broken: VerifyReport } | { signed: ExportReport }> {
  const channel = createLineChannel(AHEAD);
  async function* chainSide(): AsyncGenerator<RawRow> {
    try {
      for await (const row of rows) {
        await channel.put(row.json);
        yield row;
      }
    } finally {
      channel.end();
    }
  }
  const [chain, signed] = await Promise.allSettled([
    verifyChain(chainSide(), { expectHead }),
    verifyExport(channel.lines(), options).finally(() => channel.abandon()),
  ]);
  if (chain.status === 'rejected') throw chain.reason;
  if (!chain.value.ok) return { broken: chain.value };
  if (signed.status === 'rejected') throw signed.reason;
  return { signed: signed.value };
}

interface LineChannel {
  /** Queues a line; waits while `ahead` lines are queued (not once the taker has gone). */
  put(line: string): Promise<void>;
  /** No more lines: the taker gets those queued, then its iteration ends. */
  end(): void;
  /** The taker has gone: nothing waits for it any more. */
  abandon(): void;
  lines(): AsyncGenerator<string>;
}

function createLineChannel(ahead: number): LineChannel {
  let queue: string[] = [];
  let ended = false;
  let abandoned = false;
  let wakeTaker: (() => void) | undefined;
  let wakeGiver: (() => void) | undefined;
  const wake = (): void => {
    wakeTaker?.();
    wakeGiver?.();
    wakeTaker = wakeGiver = undefined;
  };
  const abandon = (): void => {
    abandoned = true;
    queue = [];
    wake();
  };
  return {
    async put(line) {
      if (abandoned) return;
      queue.push(line);
      wake();
      while (queue.length >= ahead && !abandoned) await new Promise<void>((resolve) => (wakeGiver = resolve));
    },
    end() {
      ended = true;
      wake();
    },
    abandon,
    async *lines() {
      try {
        for (;;) {
          if (queue.length > 0) {
            const taken = queue;
            queue = [];
            wake();
            yield* taken;
          } else if (ended || abandoned) return;
          else await new Promise<void>((resolve) => (wakeTaker = resolve));
        }
      } finally {
        abandon();
      }
    },
  };
}
