/**
 * Cedar evaluation of one loaded bundle. The policy set is parsed once (preparsed
 * under the bundle hash); each decision passes only the two entities it needs.
 * Fails closed: any error is a deny with reason ERR_POLICY_EVALUATION_FAILED.
 */
import { preparsePolicySet, statefulIsAuthorized } from '@cedar-policy/cedar-wasm/nodejs';
import type { EntityJson, StatefulAuthorizationCall } from '@cedar-policy/cedar-wasm/nodejs';
import { CustosError } from '../kernel/index.js';
import type {
  BeforeStateSpec,
  EgressRules,
  RedactionPolicy,
  ActivePolicy,
  ClassificationRule,
  Decision,
  DecisionInput,
  ToolClassification,
  TenancyRules,
  ToolRef,
} from '../kernel/index.js';
import { CEDAR_NAMESPACE } from './cedar-load.js';
import { createDecisionCache } from './decision-cache.js';
import type { BundleManifest } from './manifest.js';
import type { BundlePolicy } from './types.js';

const EVALUATION_FAILED = 'ERR_POLICY_EVALUATION_FAILED';
const NO_POLICY_ALLOWS = 'no_policy_allows';

export interface CedarPolicyOptions {
  readonly bundleHash: string;
  /** The manifest: name, version, mode, emergency flag, rate limits. */
  readonly info?: BundleManifest;
  readonly requiredScopes?: (tool: ToolRef) => readonly string[];
  readonly policies: readonly BundlePolicy[];
  readonly classifyTool: (tool: ToolRef) => ToolClassification;
  readonly classificationRules: readonly ClassificationRule[];
  readonly tenancyRules?: TenancyRules;
  readonly redaction?: RedactionPolicy;
  readonly egress?: EgressRules;
  readonly failOpenTools?: readonly string[];
  readonly beforeStateOf?: (tool: ToolRef) => BeforeStateSpec | undefined;
}

/** Entity UID of the tool: `server/name`. */
export function toolUid(tool: ToolRef): string {
  return `${tool.server}/${tool.name}`;
}

/** Hops after the user in the delegation chain: 1 for an agent acting for its user, 2 for its subagent… */
export function delegationDepth(chain: readonly string[]): number {
  return chain.filter((link) => !link.startsWith('user:')).length;
}

/** The Cedar request for a decision: principal, action, resource, context and the two entities. */
export function buildRequest(input: DecisionInput, policySetId: string): StatefulAuthorizationCall {
  const { principal, tool, agent } = input;
  const userUid = { type: `${CEDAR_NAMESPACE}::User`, id: principal.sub };
  const toolRef = { type: `${CEDAR_NAMESPACE}::Tool`, id: toolUid(tool) };
  const entities: EntityJson[] = [
    {
      uid: userUid,
      attrs: {
        roles: [...principal.roles],
        groups: [...principal.groups],
        tenant: principal.tenant ?? '',
        iss: principal.iss,
      },
      parents: [],
    },
    { uid: toolRef, attrs: { server: tool.server, name: tool.name, classes: [...input.toolClasses] }, parents: [] },
  ];
  return {
    principal: userUid,
    action: { type: `${CEDAR_NAMESPACE}::Action`, id: input.action },
    resource: toolRef,
    context: {
      tier: agent.tier,
      agent: agent.name,
      delegation_depth: delegationDepth(agent.delegationChain),
      data_classes: [...input.dataClasses],
      emergency: input.emergency === true,
      scopes: [...(input.scopes?.effective ?? [])],
      user_scopes: [...(input.scopes?.user ?? [])],
      delegated_scopes: [...(input.scopes?.delegated ?? [])],
    },
    preparsedPolicySetId: policySetId,
    entities,
  };
}

/** Builds the ActivePolicy of a validated bundle; throws ERR_POLICY_BUNDLE_INVALID when Cedar refuses the set. */
export function createCedarPolicy(options: CedarPolicyOptions): ActivePolicy {
  const { bundleHash } = options;
  const byId = new Map(options.policies.map((p) => [p.id, p]));
  const policySetId = `custos-bundle-${bundleHash}`;
  const parsed = preparsePolicySet(policySetId, {
    staticPolicies: Object.fromEntries(options.policies.map((p) => [p.id, p.text])),
  });
  if (parsed.type === 'failure') {
    const problems = parsed.errors.map((e) => e.message);
    throw new CustosError('ERR_POLICY_BUNDLE_INVALID', `Cedar refused the policy set: ${problems.join('; ')}`, {
      detail: { problems },
    });
  }

  const failClosed = (determining: readonly string[] = []): Decision => ({
    decision: 'deny',
    reasons: [EVALUATION_FAILED],
    bundleHash,
    determiningPolicies: [...determining].sort(),
  });

  const evaluate = (request: StatefulAuthorizationCall): Decision => {
    try {
      const answer = statefulIsAuthorized(request);
      if (answer.type !== 'success') return failClosed();
      const { decision, diagnostics } = answer.response;
      if (diagnostics.errors.length > 0) return failClosed(diagnostics.errors.map((e) => e.policyId));
      const ids = [...new Set(diagnostics.reason)].sort();
      if (decision === 'deny') {
        const reasons = ids.length === 0 ? [NO_POLICY_ALLOWS] : ids.map((id) => byId.get(id)?.reason ?? id);
        return { decision: 'deny', reasons: [...new Set(reasons)], bundleHash, determiningPolicies: ids };
      }
      if (decision !== 'allow' || ids.length === 0) return failClosed();
      const confirm = ids.every((id) => byId.get(id)?.confirm === true);
      const reasons = [...new Set(ids.map((id) => byId.get(id)?.reason ?? id))];
      return { decision: confirm ? 'confirm' : 'allow', reasons, bundleHash, determiningPolicies: ids };
    } catch {
      return failClosed();
    }
  };
  const cached = createDecisionCache(evaluate);
  const flag = options.info?.emergency === true;
  const decide = (input: DecisionInput): Decision => {
    let decision: Decision;
    try {
      decision = cached(buildRequest(input, policySetId));
    } catch {
      decision = failClosed();
    }
    return flag ? { ...decision, emergencyChange: true } : decision;
  };

  return Object.freeze({
    bundleHash,
    decide,
    classifyTool: (tool: ToolRef) => options.classifyTool(tool),
    classificationRules: Object.freeze(options.classificationRules.map((r) => Object.freeze({ ...r }))),
    ...(options.tenancyRules ? { tenancyRules: options.tenancyRules } : {}),
    ...(options.redaction ? { redaction: options.redaction } : {}),
    ...(options.egress ? { egress: options.egress } : {}),
    ...(options.info
      ? {
          info: { name: options.info.name, version: options.info.version, mode: options.info.mode, emergency: options.info.emergency },
          rateLimits: options.info.rateLimits,
        }
      : {}),
    requiredScopes: (tool: ToolRef) => options.requiredScopes?.(tool) ?? [],
    failOpenTools: Object.freeze([...(options.failOpenTools ?? [])]),
    beforeStateOf: (tool: ToolRef) => options.beforeStateOf?.(tool),
  });
}
