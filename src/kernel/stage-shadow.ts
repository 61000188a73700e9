/**
 * The `shadow` stage: a bundle in shadow mode is asked the same question as the enforced one;
 * when the two disagree, an `alert` row (`policy_shadow_disagreement`) records both answers.
 * The shadow's answer is never enforced.
 */
import type { Stage } from './stage.js';

export const SHADOW_DISAGREEMENT = 'policy_shadow_disagreement';

export const shadow: Stage = {
  name: 'shadow',
  run(d) {
    if (!d.recording || !d.shadow || !d.input || !d.decision) return;
    let theirs;
    try {
      theirs = d.shadow.decide({ ...d.input, toolClasses: d.shadow.classifyTool(d.call.tool).classes });
    } catch {
      return;
    }
    const ours = d.decision.decision; // the enforced bundle's own answer, whatever a later control did
    if (theirs.decision === ours) return;
    d.alerts.push({
      type: SHADOW_DISAGREEMENT,
      severity: 'low',
      detail: {
        enforced: { decision: ours, bundle_hash: d.decision.bundleHash, reasons: d.decision.reasons },
        shadow: { decision: theirs.decision, bundle_hash: theirs.bundleHash, reasons: theirs.reasons, determining_policies: theirs.determiningPolicies },
      },
    });
  },
};
