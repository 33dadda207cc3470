// Test files are test/**/*.test.js (test/helpers.js must never run as one);
// test/setup.js runs before each file and must stay set up under Tessera.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.js'],
    setupFiles: ['test/setup.js'],
  },
});
