/**
 * Every error the SDK throws on purpose: one base class with a stable `code`, so callers
 * `switch (err.code)`. Messages never contain the bearer token or a payload.
 */
export type CustosSdkErrorCode =
  /** Custos could not be reached, did not answer within the timeout, or answered 5xx: the tool did not run. */
  | 'CUSTOS_UNAVAILABLE'
  /** Custos denied the call (or held it for a human's confirmation): the tool did not run. */
  | 'CUSTOS_DENIED'
  /** Custos refused the request itself (4xx: a bad or expired token, a malformed body). */
  | 'CUSTOS_REJECTED'
  /** The fail-open journal could not be written durably: the tool did not run. */
  | 'CUSTOS_JOURNAL_FAILED';

export class CustosSdkError extends Error {
  readonly code: CustosSdkErrorCode;
  constructor(code: CustosSdkErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Why Custos was unavailable. */
export type UnavailableReason = 'unreachable' | 'timeout' | 'server_error';

export class CustosUnavailableError extends CustosSdkError {
  readonly reason: UnavailableReason;
  /** The HTTP status, on `server_error`. */
  readonly status?: number;
  constructor(reason: UnavailableReason, message: string, options?: { cause?: unknown; status?: number }) {
    super('CUSTOS_UNAVAILABLE', message, options);
    this.reason = reason;
    if (options?.status !== undefined) this.status = options.status;
  }
}

export class CustosDeniedError extends CustosSdkError {
  readonly decision: 'deny' | 'confirm';
  readonly reasons: readonly string[];
  readonly requestId: string;
  constructor(decision: 'deny' | 'confirm', reasons: readonly string[], requestId: string) {
    super(
      'CUSTOS_DENIED',
      decision === 'confirm'
        ? `Custos holds this call for a human's confirmation (request ${requestId}); answer it at POST /v1/confirmations.`
        : `Denied by Custos policy: ${reasons.join(', ') || 'no policy allows it'} (request ${requestId}).`,
    );
    this.decision = decision;
    this.reasons = [...reasons];
    this.requestId = requestId;
  }
}

export class CustosRejectedError extends CustosSdkError {
  readonly status: number;
  /** Custos' error code (e.g. ERR_IDENTITY_TOKEN_EXPIRED), when it sent one. */
  readonly serverCode?: string;
  constructor(status: number, serverCode: string | undefined, message: string) {
    super('CUSTOS_REJECTED', message);
    this.status = status;
    if (serverCode !== undefined) this.serverCode = serverCode;
  }
}
