// The suite's own setup file (vitest.config.js): the tests check it ran.
globalThis.exampleSetupRan = true;
