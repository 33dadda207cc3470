// Found by name (*-test.cjs) outside test/.
const { test } = require('node:test');
const assert = require('node:assert');
test('upper', () => assert.strictEqual('a'.toUpperCase(), 'A'));
