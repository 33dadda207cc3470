// Passing, failing, skipped and todo tests, nested describes.
import { describe, expect, it, test } from 'vitest';
import { add } from '../src/math.js';

test('adds', () => {
  expect(add(2, 2)).toBe(4);
});

test('fails', () => {
  expect(add(2, 2)).toBe(5);
});

test.skip('skipped', () => {});

test.todo('todo');

describe('nested', () => {
  describe('deeper', () => {
    it('adds', () => {
      expect(add(1, 1)).toBe(2);
    });
  });
});
