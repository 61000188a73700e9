/**
 * The model-provider leg's outbound port: the providers Custos forwards model requests to.
 * src/upstream implements it (over the secure fetch: verified TLS, pins, the checked address),
 * src/app wires it, the gateway's `llm/` door sees only this.
 */

/** The wire API a provider speaks. */
export type ModelApi = 'openai' | 'anthropic';

export interface ModelProviderInfo {
  readonly name: string;
  readonly api: ModelApi;
  /** `scheme://host:port` of the provider: the row's `egress.destination`. */
  readonly destination: string;
}

export interface ModelRequest {
  readonly provider: string;
  /** The path below the provider's base URL, e.g. `/v1/chat/completions`. */
  readonly path: string;
  /** The JSON body as it may leave (already redacted). */
  readonly body: unknown;
  /** Provider headers the client sent that the provider needs (`anthropic-version`, `anthropic-beta`, `openai-beta`). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

export interface ModelResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: AsyncIterable<Uint8Array>;
}

export interface ModelProviders {
  /** The configured provider of that name, or undefined. */
  get(name: string): ModelProviderInfo | undefined;
  /** Sends one request with the provider's own credential; throws ERR_GATEWAY_PROVIDER_FAILED when it cannot be reached. */
  send(request: ModelRequest): Promise<ModelResponse>;
  close(): Promise<void>;
}
