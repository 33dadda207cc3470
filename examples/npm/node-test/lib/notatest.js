// Not a test file: node --test must not run it.
throw new Error('notatest.js was run as a test');
