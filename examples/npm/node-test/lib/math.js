// The code under test.
exports.add = (a, b) => a + b;
exports.div = (a, b) => {
  if (b === 0) throw new RangeError('division by zero');
  return a / b;
};
