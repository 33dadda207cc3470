// A test that kills its test file's process when asked through the
// environment: TSR_EXAMPLE_CRASH=1 (process.exit).
import { test } from 'node:test';

test('crash', () => {
  if (process.env.TSR_EXAMPLE_CRASH === '1') process.exit(3);
});
