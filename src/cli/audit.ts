/** `custos audit verify` and `custos audit export`, loaded when one of them runs. */
import { createAuditStore, exportJsonl, verifyStore } from '../audit/index.js';
import type { ChainHead } from '../audit/index.js';
import type { CommandContext } from './context.js';
import { resolveStore } from './store-uri.js';
import type { StoreOptions } from './store-uri.js';

export async function verifyAudit(ctx: CommandContext, opts: StoreOptions & { expectHead?: ChainHead }): Promise<void> {
  const report = await verifyStore(await resolveStore(opts), opts.expectHead ? { expectHead: opts.expectHead } : {});
  const against = opts.expectHead ? `, reaches the expected head seq ${opts.expectHead.seq}` : '';
  if (report.ok) {
    ctx.out(`audit trail intact: ${report.count} records${report.head ? `, head seq ${report.head.seq} hash ${report.head.hash}` : ''}${against}`);
  } else {
    ctx.err(`audit trail BROKEN at seq ${report.firstBrokenSeq}: ${report.reason} (${report.count} records read before it verified)`);
    ctx.exitCode = 1;
  }
}

/** Streams the trail to stdout; stops reading as soon as the reader has gone (`| head`). */
export async function exportAudit(ctx: CommandContext, opts: StoreOptions & { from: number }): Promise<void> {
  const store = await createAuditStore(await resolveStore(opts));
  try {
    await exportJsonl(store, (line) => ctx.write(line), { fromSeq: opts.from });
  } finally {
    await store.close();
  }
}
