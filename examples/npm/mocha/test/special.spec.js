// Slow, crashing, hanging and flaky tests; the last three only misbehave when
// asked through the environment: TSR_EXAMPLE_CRASH=1 (process.exit),
// TSR_EXAMPLE_HANG=1 (never settles), TSR_EXAMPLE_FLAKY_DIR=D (fails once).
const fs = require('fs');
const path = require('path');

describe('special', function () {
  it('slow', function (done) {
    setTimeout(done, 200);
  });
  it('crash', function () {
    if (process.env.TSR_EXAMPLE_CRASH === '1') process.exit(3);
  });
  it('hang', function () {
    this.timeout(0);
    if (process.env.TSR_EXAMPLE_HANG === '1') return new Promise(() => {});
  });
  it('flaky', function () {
    const dir = process.env.TSR_EXAMPLE_FLAKY_DIR;
    if (!dir) return;
    const marker = path.join(dir, 'tsr-example-flaky-mocha');
    if (!fs.existsSync(marker)) {
      fs.writeFileSync(marker, '');
      throw new Error('first run fails');
    }
  });
});
