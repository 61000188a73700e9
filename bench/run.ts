/**
 * `npm run bench -- NAME`: runs bench/NAME.ts (compiled to dist-bench/) and prints its
 * report. Benchmarks are measurements, not tests: they never fail on a slow machine.
 */
const name = process.argv[2];
const available = ['gateway', 'identity', 'policy'];
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- NAME   (NAME: ${available.join(', ')})`);
  process.exit(2);
}
const mod = (await import(`./${name}.js`)) as { run: () => Promise<void> };
await mod.run();
process.exit(0);
