// Slow, crashing, hanging and flaky tests; the last three only misbehave when
// asked through the environment: TSR_EXAMPLE_CRASH=1 (process.exit),
// TSR_EXAMPLE_HANG=1 (never settles), TSR_EXAMPLE_FLAKY_DIR=D (fails once).
import { test } from 'node:test';
import assert from 'node:assert';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

test('slow', async () => {
  await new Promise((resolve) => setTimeout(resolve, 200));
});

test('crash', () => {
  if (process.env.TSR_EXAMPLE_CRASH === '1') process.exit(3);
});

test('hang', async () => {
  if (process.env.TSR_EXAMPLE_HANG === '1') await new Promise(() => setInterval(() => {}, 1000));
});

test('flaky', () => {
  const dir = process.env.TSR_EXAMPLE_FLAKY_DIR;
  if (!dir) return;
  const marker = join(dir, 'tsr-example-flaky-node');
  if (!existsSync(marker)) {
    writeFileSync(marker, '');
    assert.fail('first run fails');
  }
});
