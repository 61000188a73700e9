/** Is `index` inside the `user:password@` part of a URL (after `scheme://`, before any `/`, `@` or blank)? */
export function isInUrlUserinfo(text: string, index: number): boolean {
  for (let i = index - 1; i >= 0 && i >= index - 512; i--) {
    const c = text[i]!;
    if (c === '/' && text[i - 1] === '/' && text[i - 2] === ':') return true;
    if (c === '/' || c === '@' || c === ' ' || c === '\t' || c === '\n' || c === '\r') return false;
  }
  return false;
}
