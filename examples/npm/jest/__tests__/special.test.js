// Slow, crashing, hanging and flaky tests; the last three only misbehave when
// asked through the environment: TSR_EXAMPLE_CRASH=1 (process.exit),
// TSR_EXAMPLE_HANG=1 (never settles), TSR_EXAMPLE_FLAKY_DIR=D (fails once).
const fs = require('fs');
const path = require('path');

test('slow', async () => {
  await new Promise((resolve) => setTimeout(resolve, 200));
});

test('crash', () => {
  if (process.env.TSR_EXAMPLE_CRASH === '1') process.kill(process.pid, 'SIGKILL');
});

test('hang', async () => {
  if (process.env.TSR_EXAMPLE_HANG === '1') await new Promise(() => {});
}, 3600 * 1000);

test('flaky', () => {
  const dir = process.env.TSR_EXAMPLE_FLAKY_DIR;
  if (!dir) return;
  const marker = path.join(dir, 'tsr-example-flaky-jest');
  if (!fs.existsSync(marker)) {
    fs.writeFileSync(marker, '');
    throw new Error('first run fails');
  }
});
