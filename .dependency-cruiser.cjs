// Which way imports may go in src/ (issue #12), checked by `npm run lint` with dependency-cruiser.
// test/lint/dependency-rules.test.ts proves each rule fails a wrong import and passes a right one.
//
// Every rule holds for all of src/, with no exceptions recorded: a wrong import fails `npm run lint`.
//
// Paths are relative to the repository root, as dependency-cruiser reports them. dependency-cruiser is held at
// 17.x, the newest line that runs on Node 20 (18 needs Node 22).

/** The domain: verbs, models, repositories and the ports below them. Knows nothing of any adapter. */
const domain = '^src/(members|ledger|approvals|usage|reservations|digest|allowances|sessions|lib|notify|db|config)/';
/** The adapters: chat's grammar and replies, the two platforms, the operator CLI, the HTTP server, the web dashboard. */
const adapters = '^src/(chat|slack|teams|cli|http|dashboard)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles in src/: a cycle makes load order matter and the layers meaningless.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'domain-not-to-adapters',
      severity: 'error',
      comment:
        'The domain never imports chat, Slack, Teams, the CLI or the HTTP server: adapters call verbs, ' +
        'and the domain tells people things through the notify port (src/notify).',
      // src/db/schema.ts is the table index drizzle-kit reads (DESIGN.md: db/ holds it), so it names the
      // adapters' tables too; nothing imports it (the rule below), so no code reaches an adapter through it.
      from: { path: domain, pathNot: '^src/db/schema\\.ts$' },
      to: { path: adapters },
    },
    {
      name: 'chat-not-to-platforms',
      severity: 'error',
      comment: 'src/chat is platform-neutral: it imports neither src/slack nor src/teams.',
      from: { path: '^src/chat/' },
      to: { path: '^src/(slack|teams)/' },
    },
    {
      name: 'slack-not-to-teams',
      severity: 'error',
      comment: 'The Slack adapter does not import the Teams adapter; what they share lives in src/chat.',
      from: { path: '^src/slack/' },
      to: { path: '^src/teams/' },
    },
    {
      name: 'teams-not-to-slack',
      severity: 'error',
      comment: 'The Teams adapter does not import the Slack adapter; what they share lives in src/chat.',
      from: { path: '^src/teams/' },
      to: { path: '^src/slack/' },
    },
    {
      name: 'dashboard-not-to-platforms',
      severity: 'error',
      comment:
        'The web dashboard (src/dashboard) clicks the same buttons as chat through src/chat and calls the domain; ' +
        'it imports neither Slack, Teams nor the CLI.',
      from: { path: '^src/dashboard/' },
      to: { path: '^src/(slack|teams|cli)/' },
    },
    {
      name: 'schema-index-for-drizzle-kit-only',
      severity: 'error',
      comment:
        'src/db/schema.ts only lists the tables for drizzle-kit (drizzle.config.ts); code imports each table from ' +
        'its own *.tables.ts, so the index never carries an adapter into the domain.',
      from: { path: '^src/' },
      to: { path: '^src/db/schema\\.ts$' },
    },
    {
      name: 'gateway-client-stands-alone',
      severity: 'error',
      comment:
        'src/gateway is the client a gateway copies (README, "Reservations"): it imports nothing else of src/, ' +
        'only Node built-ins and the openai package.',
      from: { path: '^src/gateway/' },
      to: { path: '^src/', pathNot: '^src/gateway/' },
    },
    {
      name: 'lib-is-a-leaf',
      severity: 'error',
      comment:
        'src/lib is the bottom layer: it imports only src/lib, src/config (the only reader of process.env) and ' +
        'the types of src/db/database.ts (the context every verb takes holds the open database).',
      from: { path: '^src/lib/' },
      to: { path: '^src/', pathNot: ['^src/(lib|config)/', '^src/db/database\\.ts$'] },
    },
    {
      name: 'src-stays-in-src',
      severity: 'error',
      comment:
        'Code in src/ imports only src/, packages and Node built-ins: never test/, bench/, scripts/ or ' +
        'anything outside the repository (CI runs from a copy with nothing beside it).',
      from: { path: '^src/' },
      to: { pathNot: ['^src/', '^node_modules/'], dependencyTypesNot: ['core'], couldNotResolve: false },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve cannot be checked against the rules above.',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Type-only imports count: a layer that names another's types depends on it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: '(^|/)node_modules/' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
    },
  },
};
