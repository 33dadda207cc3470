// The code under test.
export const add = (a, b) => a + b;
