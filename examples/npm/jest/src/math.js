// The code under test.
exports.add = (a, b) => a + b;
