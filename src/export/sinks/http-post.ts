/** One HTTP POST for the HTTP sinks: a 2xx answer is the acknowledgement; anything else is a failed delivery. */
import { deliveryFailed } from '../format.js';

export async function postBody(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', body, headers, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw deliveryFailed((err as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable', err);
  }
  const text = await response.text().catch(() => '');
  if (response.status < 200 || response.status > 299) throw deliveryFailed(`http_${response.status}`);
  return text;
}
