// Slow, hanging and flaky tests; the last two only misbehave when asked
// through the environment: TSR_EXAMPLE_HANG=1 (never settles),
// TSR_EXAMPLE_FLAKY_DIR=D (fails once). The hanging test comes last: node 20
// cannot leave tests out by name, so the tests after a hung one in its file
// are not run again. The crashing test is in crash.test.mjs: node 20 loses
// the events of a test file whose process dies, so a crash is reported for
// its whole file.
import { test } from 'node:test';
import assert from 'node:assert';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

test('slow', async () => {
  await new Promise((resolve) => setTimeout(resolve, 200));
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

test('hang', async () => {
  if (process.env.TSR_EXAMPLE_HANG === '1') await new Promise(() => setInterval(() => {}, 1000));
});
