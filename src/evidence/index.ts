/** The evidence module's public surface: the control map, evidence packs, their verification and the checklist. */
export { CHECKLIST, CONTROLS, CONTROL_TESTS, CROSSWALK, FILES, FRAMEWORKS, controlsOf } from './controls.js';
export type { Control, ControlTestId, EvidenceItem, Framework } from './controls.js';
export { evaluateChecklist } from './checklist.js';
export type { Box, SinkView } from './checklist.js';
export { CONTROL_TEST_TENANT, controlTestAudit, runControlTests } from './control-tests.js';
export type { ControlTestResult, ControlTestSessions, ControlTestSettings, ControlTestTarget, Outcome, TestRow } from './control-tests.js';
export { evaluateDeployment, writePack } from './pack.js';
export type { PackOptions, PackResult, PackSources } from './pack.js';
export { MANIFEST_SCHEMA, manifestFiles, verifyPack } from './manifest.js';
export type { ManifestFile, ManifestSigner, PackProblem, PackVerifyReport } from './manifest.js';
export { CHROMIUM_FLAGS, CHROMIUM_PATH, printPdf } from './pdf.js';
export { collectTrailFacts } from './trail-facts.js';
export type { TrailFacts } from './trail-facts.js';
