// A second test file in a subdirectory: the suite's own setup file ran.
import { expect, test } from 'vitest';

test('the setup file ran', () => {
  expect(globalThis.exampleSetupRan).toBe(true);
});
