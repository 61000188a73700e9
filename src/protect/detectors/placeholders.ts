/**
 * Stop rules shared by the secret detectors: values that are placeholders, variable references,
 * masks or documented example keys are not secrets (`<REDACTED>`, `${VAR}`, `os.environ["X"]`,
 * `process.env.X`, `env:NAME`, `AKIAIOSFODNN7EXAMPLE`).
 */

const STOP_WORDS = new Set([
  '',
  'null',
  'none',
  'nil',
  'undefined',
  'true',
  'false',
  'yes',
  'no',
  'on',
  'off',
  'empty',
  'changeme',
  'change_me',
  'change-me',
  'password',
  'passwd',
  'secret',
  'token',
  'apikey',
  'api_key',
  'key',
  'xxx',
  'todo',
  'tbd',
  'fixme',
  'required',
  'optional',
  'string',
  'str',
  'int',
  'bool',
  'boolean',
  'number',
  'any',
  'object',
  'example',
  'sample',
  'dummy',
  'test',
  'placeholder',
  'n/a',
  'na',
  'redacted',
  'hidden',
  'masked',
  'removed',
  'omitted',
  'bearer',
  'basic',
  'digest',
  'secretstr',
  'default',
]);

/** Whole-value shapes that reference a secret instead of holding one. */
const REFERENCE = [
  /^<[^<>]*>$/, // <REDACTED>, <your-token>
  /^\$\{[^}]*\}$/, // ${VAR}, ${{ secrets.X }}
  /^\$\{\{.*\}\}$/,
  /^\$[A-Za-z_][A-Za-z0-9_]*$/, // $VAR
  /^\$\([^)]*\)$/, // $(cmd)
  /^%[A-Za-z_][A-Za-z0-9_]*%$/, // %VAR%
  /^\{\{.*\}\}$/, // {{ var }}
  /^%\([A-Za-z_][A-Za-z0-9_]*\)[sd]$/, // %(name)s
  /^#\{[^}]*\}$/, // #{var}
  /^(?:env|file|vault|secret|secretref|op|awssm|gcpsm|azkv):[A-Za-z0-9_./:-]+$/i, // env:NAME, file:PATH, op://…
  /^(?:os\.environ|os\.getenv|process\.env|import\.meta\.env|Deno\.env|System\.getenv|ENV\[|getenv\(|env\(|config\.|settings\.|secrets\.|vars\.|self\.|this\.|args\.|opts\.|options\.|params\.)/,
  /^\[redacted(?::[A-Za-z0-9_#]+)?\]$/i,
  /^\[(?:REDACTED|HIDDEN|MASKED|SECRET|FILTERED)\]$/i,
  /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\([^()]*\)$/, // getToken(), vault.read("x")
  /^[A-Za-z_][A-Za-z_]{0,30}\d{0,2}(?:\.[A-Za-z_][A-Za-z_]{0,30}\d{0,2})+$/, // self.password, cfg.db.token (not a JWT: its segments are long and full of digits)
  /^[A-Za-z_][A-Za-z0-9_]*\[["'][^"']*["']\]$/, // ENV["X"], secrets['x']
];

/** The reference shapes as two patterns (case-sensitive ones, case-folded ones): one test instead of sixteen. */
const REFERENCE_TESTS = [false, true].map(
  (folded) =>
    new RegExp(
      REFERENCE.filter((re) => re.flags.includes('i') === folded)
        .map((re) => `(?:${re.source})`)
        .join('|'),
      folded ? 'i' : '',
    ),
);

/** Masks and documented example keys. */
const MASK = /^(?:[*xX•#.\-_=]|\.\.\.)+$/;
const EXAMPLE_MARKERS =
  /example|sample|dummy|placeholder|your[-_ ]?(?:api[-_ ]?)?(?:key|token|secret|password)|insert[-_ ]?|replace[-_ ]?me|x{5,}|\*{3,}|0{8,}|<|>/i;

/** Keys published in vendor documentation: never live, always alone. */
const DOCUMENTED_EXAMPLES = new Set([
  'AKIAIOSFODNN7EXAMPLE',
  'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  'sk_test_4eC39HqLyjWDarjtT1zdp7dc',
  'sk_test_BQokikJOvBiI2HlWgH4olfQ2',
  'pk_test_TYooMQauvdEDq54NiTphI7jx',
  'AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe',
]);

/** Is a candidate value a placeholder, reference, mask or documented example rather than a secret? */
export function isPlaceholder(value: string, key?: string): boolean {
  const v = value.trim();
  if (STOP_WORDS.has(v.toLowerCase())) return true;
  if (key !== undefined && v.toLowerCase() === key.toLowerCase()) return true;
  if (DOCUMENTED_EXAMPLES.has(v)) return true;
  if (MASK.test(v)) return true;
  if (REFERENCE_TESTS.some((re) => re.test(v))) return true;
  return EXAMPLE_MARKERS.test(v);
}

/** Does a random-looking token body look like filler (one character repeated, a run of x, a counting sequence)? */
export function isFillerToken(body: string): boolean {
  if (body.length === 0) return true;
  if (EXAMPLE_MARKERS.test(body) || DOCUMENTED_EXAMPLES.has(body)) return true;
  return isOneCharacterRepeated(body) || (body.length >= 16 && fewerDistinctThan(body, 5));
}

const isLineTerminator = (c: number): boolean => c === 10 || c === 13 || c === 0x2028 || c === 0x2029;

/** `/^(.)\1*$/` without the back-reference: one UTF-16 unit, not a line terminator, repeated. */
function isOneCharacterRepeated(body: string): boolean {
  const first = body.charCodeAt(0);
  if (isLineTerminator(first)) return false;
  for (let i = 1; i < body.length; i++) if (body.charCodeAt(i) !== first) return false;
  return true;
}

/** `new Set(body).size < limit` (code points) without the set: counts at most `limit` distinct units. */
function fewerDistinctThan(body: string, limit: number): boolean {
  const seen: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) return new Set(body).size < limit; // a surrogate: count code points
    if (seen.includes(c)) continue;
    if (seen.push(c) >= limit) return false;
  }
  return true;
}
