/** The audit module's public surface: stores, the hash chain, verification and export. */
export { createAuditStore, registerAuditStore, listAuditStoreSchemes } from './registry.js';
export { computeRecordHash } from './chain-hash.js';
export { verifyChain } from './verify-chain.js';
export type { VerifiableItem, VerifyOptions } from './verify-chain.js';
export { verifyStore } from './verify-store.js';
export { exportJsonl } from './export-jsonl.js';
export type { ExportJsonlOptions, ExportJsonlResult } from './export-jsonl.js';
export { DEFAULT_BUSY_TIMEOUT_MS, parseSqliteLocation } from './sqlite-store.js';
export { monitorAppends } from './append-health.js';
export { storeOutageReason, toTrailReadError } from './store-outage.js';
export type { AppendHealth, MonitoredAuditStore, MonitorOptions } from './append-health.js';
export type { AuditStoreAdmin, AuditStoreFactory, AuditStoreOptions, ChainHead, RawRow, VerifyFailure, VerifyReport } from './types.js';
export {
  CompactTree,
  LeafTree,
  consistencyProof,
  hashChildren,
  hashLeaf,
  hashRowLeaf,
  inclusionProof,
  merkleRoot,
  verifyConsistency,
  verifyInclusion,
} from './merkle.js';
export {
  CHECKPOINT_SCHEMA,
  checkpointSignedBytes,
  checkpointSignerOf,
  createCheckpointSigner,
  isCheckpoint,
  signerFromKey,
  keyIdOf,
  loadVerifyKeys,
  verifyCheckpointSignature,
} from './checkpoint.js';
export type { Checkpoint, CheckpointCheck, CheckpointSigner } from './checkpoint.js';
export { createCheckpointer, withCheckpoints } from './checkpointer.js';
export type { Checkpointer, CheckpointerOptions } from './checkpointer.js';
export { verifyExport, verifyExportFile } from './verify-export.js';
export type { ExportReport, ExportVerifyOptions, Finding, FindingKind } from './verify-export.js';
export { PROOF_SCHEMA, proveInclusion, proveMany, verifyProof } from './prove.js';
export { DEK_MAX_ROWS, createSealer, isSealedText } from './sealing.js';
export type { RecordKeys, Sealer, WrappingKey } from './sealing.js';
export { SEALED_SCHEMA } from './seal-format.js';
export { PURGED_SCHEMA, PURGE_ACTION, isPurgedRow, purgedRanges } from './retention-format.js';
export type { Tombstone } from './retention-format.js';
export { HOLD_PLACED, HOLD_RELEASED, SIX_YEARS_DAYS, batchRanges, checkRetention, collectHold, holdCovers, planPurge, toRanges } from './retention.js';
export type { LegalHold, PurgePlan, RetentionSettings } from './retention.js';
export type { InclusionProof, ProveResult } from './prove.js';
export { restoreTrail } from './restore.js';
export type { RestoreOptions, RestoreResult } from './restore.js';
export { accountDisclosures, matchesQuery, searchTrail } from './search.js';
export { createSearchIndex } from './search-index.js';
export type { IndexMacKey, IndexState, SearchIndex, SearchIndexBackend, SearchIndexOptions } from './search-index.js';
export { createSqliteSearchIndex, sqliteSearchIndexPath } from './search-index-sqlite.js';
export { createPostgresSearchIndex, SEARCH_INDEX_POSTGRES_SCHEMA, SEARCH_INDEX_POSTGRES_STATE_SCHEMA } from './search-index-postgres.js';
export type { AuditQuery, Disclosure, DisclosureOptions, DisclosureReport, SearchPage, SearchPageOptions } from './search.js';
export { RATE_COUNTER_SCHEMA, createRateCounter, deriveRateCounterLocation } from './rate-counter.js';
export { AUDIT_POSTGRES_SCHEMA } from './postgres-store.js';
export { PENDING_AUTHORIZATIONS_SCHEMA, createPendingAuthorizationStore } from './pending-authorizations.js';
export { createOffThreadVerifier } from './verify-watch.js';
export type { DirectTrail, OffThreadStats, OffThreadVerifier, OffThreadVerifyOptions, WatchedRows } from './verify-watch.js';
