// Under test/: node --test runs every .js file here, this one included.
const { test } = require('node:test');
test('helpers load', () => {});
