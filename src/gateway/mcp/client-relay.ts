/**
 * Server-to-client requests relayed to the agent's client. An upstream's elicitation or
 * sampling request is a governed action of the session's user (kind `elicitation` or
 * `sampling`, policy action `sample`, tool `<server>/elicitation/create` or
 * `<server>/sampling/createMessage`): decided, recorded (intent and result rows), and what
 * reaches the client (and so its model) is the REDACTED request; the answer is redacted
 * too before it goes back upstream.
 */
import type { CreateMessageResult, ElicitRequestFormParams, ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { CustosError } from '../../kernel/index.js';
import type { ClientRelay } from '../types.js';
import { forwardedOutput } from './governed-call.js';
import type { RequestContext } from './request-context.js';
import type { SessionKit } from './session-kit.js';
import { toMcpError } from './session-kit.js';

export const ELICITATION_TOOL = 'elicitation/create';
export const SAMPLING_TOOL = 'sampling/createMessage';

export function createClientRelay(kit: SessionKit, ctx: RequestContext): ClientRelay {
  async function relay<T>(
    kind: 'elicitation' | 'sampling',
    server: string,
    params: unknown,
    send: (redacted: unknown) => Promise<T>,
    signal: AbortSignal,
  ): Promise<T> {
    const name = kind === 'elicitation' ? ELICITATION_TOOL : SAMPLING_TOOL;
    try {
      const result = await kit.govern(ctx, { kind, tool: { server, name }, arguments: params }, (auth) => send(auth.redactedArguments.value), signal);
      return forwardedOutput(result) as T;
    } catch (err) {
      throw toMcpError(err, kit.deps.logger);
    }
  }

  return {
    session: kit.state.id,
    elicit: (server, params, signal) =>
      relay<ElicitResult>(
        'elicitation',
        server,
        params,
        async (redacted) => {
          if (!kit.server.getClientCapabilities()?.elicitation)
            throw new CustosError('ERR_GATEWAY_CAPABILITY_UNSUPPORTED', "The agent's client does not support elicitation.");
          return kit.server.elicitInput(redacted as ElicitRequestFormParams, { signal });
        },
        signal,
      ),
    sample: (server, params, signal) =>
      relay<CreateMessageResult>(
        'sampling',
        server,
        params,
        async (redacted) => {
          if (!kit.server.getClientCapabilities()?.sampling)
            throw new CustosError('ERR_GATEWAY_CAPABILITY_UNSUPPORTED', "The agent's client does not support sampling.");
          return (await kit.server.createMessage(redacted as Parameters<typeof kit.server.createMessage>[0], { signal })) as CreateMessageResult;
        },
        signal,
      ),
  };
}
