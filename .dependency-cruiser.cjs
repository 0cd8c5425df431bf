// The import rules of src/ (the layering in the README's layout section),
// checked by a step of the test command's lint (and by `npm run lint`).
// ssh, runtime, inventory and config feed plan and migrate; then the store;
// then the UI; the CLI wires them. src/text holds plain-text helpers that
// import nothing of ferry's, so every layer may use them, as it would an
// npm package. No cycles, type-only imports included.

/** a forbidden import: a file matching `from` imports one matching `to` */
function rule(name, comment, from, to) {
  return { name, comment, severity: 'error', from: { path: from }, to: { path: to } };
}

module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      comment: 'import cycles, type-only imports included',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    rule(
      'low-layers',
      'ssh, runtime, inventory and config are the bottom layer: they import nothing above them',
      '^src/(ssh|runtime|inventory|config)/',
      '^src/(plan|migrate|store|ui|cli)/',
    ),
    rule(
      'plan-migrate-below-store',
      'plan and migrate do not know the store, the UI or the CLI',
      '^src/(plan|migrate)/',
      '^src/(store|ui|cli)/',
    ),
    rule(
      'store-not-engine',
      'the store reaches the world only through its injected Backend: no ssh, runtime or engine (migrate)',
      '^src/store/',
      '^src/(ssh|runtime|migrate|ui|cli)/',
    ),
    rule(
      'ui-only-ui-and-store',
      'the UI imports only the UI and the store (and the text helpers)',
      '^src/ui/',
      '^src/(?!ui/|store/|text/)',
    ),
    rule('text-is-a-leaf', 'the text helpers import nothing else of ferry', '^src/text/', '^src/(?!text/)'),
    rule(
      'headless-no-ui',
      'only the TUI entry (cli/tui.ts) loads the UI: the headless commands start without Ink',
      '^src/cli/(?!tui[.]ts$)',
      '^src/ui/',
    ),
    {
      name: 'engine-core-no-effects',
      comment:
        'the engine core takes its effects as parameters (migrate/effects.ts): it opens no journal, runs no driver, transfer or lock, and reads no file; the real effects are wired in migrate/live.ts',
      severity: 'error',
      from: { path: '^src/migrate/(engine|phases|freeze-queue|link-slots|effects|deadlines)[.]ts$' },
      to: {
        path: '^(src/migrate/(podman|docker|journal|transfer|locks|live|session|networks)[.]ts|(node:)?fs(/promises)?|(node:)?child_process)$',
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'src-not-tests',
      comment: 'product code does not import tests, scripts or the bench',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|scripts|bench)/' },
    },
  ],
  options: {
    // TypeScript 7 has no compiler API for dependency-cruiser yet; swc parses
    // the .ts/.tsx files and keeps `import type` as a (type-only) dependency
    parser: 'swc',
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^node_modules/' },
  },
};
