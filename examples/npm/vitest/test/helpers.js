// Not a test file (vitest.config.js includes test/**/*.test.js only).
throw new Error('helpers.js was loaded as a test file');
