import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', '.vscode-test/**', 'test-output/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { fetch: 'readonly', process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // A plain CommonJS script that runs inside the node target image.
    files: ['test/fixtures/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The webview pages run in a browser.
    files: ['webviews/**'],
    languageOptions: { globals: { window: 'readonly', document: 'readonly', getComputedStyle: 'readonly', MutationObserver: 'readonly', HTMLElement: 'readonly', HTMLInputElement: 'readonly', HTMLTableElement: 'readonly', HTMLElementTagNameMap: 'readonly', MessageEvent: 'readonly', Event: 'readonly', Node: 'readonly' } },
  },
  {
    // The engine and /proc layers run in plain Node (tests, the debug adapter
    // process), so they must never load the vscode module.
    files: ['src/engine/**', 'src/procfs/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'vscode', message: 'src/engine and src/procfs must not import vscode; pass what you need in.', allowTypeImports: true }] }],
      '@typescript-eslint/no-restricted-imports': ['error', { paths: [{ name: 'vscode', message: 'src/engine and src/procfs must not import vscode; pass what you need in.', allowTypeImports: true }] }],
    },
  },
);
