import fs from 'node:fs';
import path from 'node:path';

/** The project root, found from wherever the compiled test file sits. */
export const projectRoot = (() => {
  let d = __dirname;
  while (!fs.existsSync(path.join(d, 'package.json')) || !fs.existsSync(path.join(d, 'scripts'))) d = path.dirname(d);
  return d;
})();

export const testOutput = path.join(projectRoot, 'test-output');
