/**
 * Import-direction rules of docs/ARCHITECTURE.md ("Rooms and arrows"), checked by `npm run lint`.
 * Bottom to top: common → package, onnx → gpu → prune → engine → eval → store → ui; convert sits
 * beside engine on package, onnx and common; cli, bench and e2e are entry points on top. Each rule names the
 * rooms a folder may NOT import, so a new folder is free until it is placed here.
 *
 * Test code (`*.test.ts`, `*.testutil.ts`, `testing/` and `fixtures/` folders) is exempt from the
 * direction rules: a test may build its fixture with the converter and run it through the engine,
 * as a CLI does. It still may not form a circle, and runtime code may never import it.
 */
const TEST = '(\\.test\\.tsx?|\\.testutil\\.ts|\\.spec\\.ts)$|/(testing|fixtures)/';
const room = (...names) => `^src/(${names.join('|')})/`;
const down = (name, from, forbidden, comment) => ({
  name,
  comment,
  severity: 'error',
  from: { path: room(from), pathNot: TEST },
  to: { path: room(...forbidden) },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import circles hide which side owns a contract.',
      from: {},
      to: { circular: true },
    },
    down(
      'common-imports-nothing',
      'common',
      ['package', 'gpu', 'prune', 'engine', 'convert', 'eval', 'store', 'ui', 'cli'],
      'The shared vocabulary is the bottom.',
    ),
    down(
      'onnx-on-common',
      'onnx',
      ['package', 'gpu', 'prune', 'engine', 'convert', 'eval', 'store', 'ui', 'cli'],
      'The ONNX protobuf and graph builder serve convert/ and engine/; they import only common/.',
    ),
    down(
      'package-on-common',
      'package',
      ['gpu', 'prune', 'engine', 'convert', 'eval', 'store', 'ui', 'cli'],
      'The package contract sits between convert and engine; it imports only common/.',
    ),
    down(
      'gpu-down',
      'gpu',
      ['package', 'prune', 'engine', 'convert', 'eval', 'store', 'ui', 'cli'],
      'The GPU door knows no method or model.',
    ),
    down(
      'prune-down',
      'prune',
      ['package', 'engine', 'convert', 'eval', 'store', 'ui', 'cli'],
      'Methods see backend tensors and the trace vocabulary, never the engine.',
    ),
    down(
      'engine-not-convert',
      'engine',
      ['convert', 'eval', 'store', 'ui', 'cli'],
      'The engine reads packages through package/, never the converter.',
    ),
    down(
      'convert-alone',
      'convert',
      ['gpu', 'prune', 'engine', 'eval', 'store', 'ui', 'cli'],
      'The converter imports nothing of the app: package/, onnx/ and common/ only.',
    ),
    down('eval-down', 'eval', ['store', 'ui', 'cli'], 'The eval harness runs the engine; the app and the CLI run it.'),
    down('store-down', 'store', ['ui', 'cli'], 'The store never imports components.'),
    {
      ...down(
        'ui-not-engine',
        'ui',
        ['engine', 'gpu', 'cli'],
        'The app talks to the engine through the store and the worker; it may read the worker protocol types.',
      ),
      to: { path: room('engine', 'gpu', 'cli'), pathNot: '^src/engine/protocol\\.ts$' },
    },
    down('cli-not-ui', 'cli', ['ui'], 'Node entry points never import React.'),
    {
      name: 'src-not-entry',
      comment: 'Nothing in src/ imports the benchmarks or the e2e pages.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(bench|e2e)/' },
    },
    {
      name: 'runtime-not-test',
      comment: 'Runtime code never imports test helpers or fixtures (benchmarks may: they drive Dawn as the tests do).',
      severity: 'error',
      from: { path: '^src/', pathNot: TEST },
      to: { path: TEST },
    },
  ],
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^node_modules/' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
