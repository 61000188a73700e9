/**
 * The auth-failure limiter: a token bucket per source (see client-address.ts). Each
 * unauthenticated or failed-auth request spends one token; a source with none left is
 * answered 429. Successful authentications never spend and are never refused. Memory is
 * bounded: at most `maxSources` buckets, the least recently used forgotten first.
 */
export interface FailureLimits {
  /** Failures a source may make at once. */
  readonly burst: number;
  /** Failures a source earns back per minute. */
  readonly perMinute: number;
  /** Most sources tracked at once. */
  readonly maxSources: number;
}

export interface FailureLimiter {
  /** Seconds until the source may fail again, when it has no budget now; undefined when it has. Spends nothing. */
  limited(source: string): number | undefined;
  /** Spends one failure; returns the Retry-After seconds when the source had no budget left (the request gets 429). */
  spend(source: string): number | undefined;
  /** Sources tracked now (for tests and metrics). */
  size(): number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export const DEFAULT_FAILURE_LIMITS: FailureLimits = { burst: 20, perMinute: 30, maxSources: 10_000 };

export function createFailureLimiter(limits: FailureLimits, now: () => number): FailureLimiter {
  const perMs = limits.perMinute / 60_000;
  const buckets = new Map<string, Bucket>();

  /** The source's bucket, refilled to now and moved to the most recently used end. */
  function touch(source: string): Bucket {
    const t = now();
    const found = buckets.get(source);
    const bucket = found ?? { tokens: limits.burst, at: t };
    bucket.tokens = Math.min(limits.burst, bucket.tokens + Math.max(0, t - bucket.at) * perMs);
    bucket.at = t;
    buckets.delete(source);
    if (!found && buckets.size >= limits.maxSources) {
      const oldest = buckets.keys().next().value;
      if (oldest !== undefined) buckets.delete(oldest);
    }
    buckets.set(source, bucket);
    return bucket;
  }

  function retryAfter(bucket: Bucket): number {
    return Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
  }

  return {
    limited(source) {
      const found = buckets.get(source);
      if (!found) return undefined;
      const bucket = touch(source);
      return bucket.tokens >= 1 ? undefined : retryAfter(bucket);
    },
    spend(source) {
      const bucket = touch(source);
      if (bucket.tokens < 1) return retryAfter(bucket);
      bucket.tokens -= 1;
      return undefined;
    },
    size: () => buckets.size,
  };
}
