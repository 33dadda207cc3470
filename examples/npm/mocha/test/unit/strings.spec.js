// A second spec file in a subdirectory, with a failing hook.
const assert = require('assert');

describe('strings', function () {
  it('uppercases', function () {
    assert.strictEqual('a'.toUpperCase(), 'A');
  });
});

describe('broken setup', function () {
  before(function () {
    throw new Error('hook broke');
  });
  it('never runs', function () {});
});
