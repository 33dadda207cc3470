// Not a spec (.mocharc.json spec is test/**/*.spec.js).
throw new Error('helper.js was loaded as a spec');
