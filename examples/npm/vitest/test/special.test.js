// Slow, crashing, hanging and flaky tests; the last three only misbehave when
// asked through the environment: TSR_EXAMPLE_CRASH=1 (SIGKILL of the worker),
// TSR_EXAMPLE_HANG=1 (never settles), TSR_EXAMPLE_FLAKY_DIR=D (fails once).
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'vitest';

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
  const marker = join(dir, 'tsr-example-flaky-vitest');
  if (!existsSync(marker)) {
    writeFileSync(marker, '');
    throw new Error('first run fails');
  }
});
