// Regenerates the references that tests check for staleness: `npm run gen`.
import { writeFileSync } from 'node:fs';
import { generateConfigDoc, generateConfigJsonSchema } from '../dist/config/index.js';
import { generateErrorsDoc } from '../dist/gateway/index.js';

const root = new URL('..', import.meta.url);
writeFileSync(new URL('schema/custos.config.schema.json', root), generateConfigJsonSchema());
writeFileSync(new URL('docs/config.md', root), generateConfigDoc());
writeFileSync(new URL('docs/errors.md', root), generateErrorsDoc());
console.log('wrote schema/custos.config.schema.json, docs/config.md, docs/errors.md');
