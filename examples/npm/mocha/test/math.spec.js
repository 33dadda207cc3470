// Passing, failing and pending tests, nested suites.
const assert = require('assert');

describe('math', function () {
  it('adds', function () {
    assert.strictEqual(2 + 2, 4);
  });
  it('fails', function () {
    assert.strictEqual(2 + 2, 5, 'arithmetic is broken');
  });
  it.skip('skipped', function () {});
  it('pending without a body');
  describe('nested', function () {
    it('adds', function () {
      assert.strictEqual(1 + 1, 2);
    });
  });
});
