// Passing, failing, skipped and todo tests, nested suites.
const { describe, it, test } = require('node:test');
const assert = require('node:assert');
const { add, div } = require('../lib/math');

test('adds', () => {
  assert.strictEqual(add(2, 2), 4);
});

test('fails', () => {
  assert.strictEqual(add(2, 2), 5, 'arithmetic is broken');
});

test('skipped', { skip: 'not today' }, () => {});

test('todo', { todo: 'later' }, () => {});

describe('div', () => {
  it('divides', () => {
    assert.strictEqual(div(6, 3), 2);
  });
  describe('by zero', () => {
    it('throws', () => {
      assert.throws(() => div(1, 0), RangeError);
    });
  });
});
