// A CLI library's tests read process.argv: jest's own arguments must not be
// there (FRAMEWORKS.md: jest in band leaks them).
test('process.argv holds no jest arguments', () => {
  const leaked = process.argv.slice(2).filter((arg) => arg.startsWith('-'));
  expect(leaked).toEqual([]);
});
