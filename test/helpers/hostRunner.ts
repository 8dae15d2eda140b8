// A minimal test runner for modules that run inside the real extension host.
// Results go to the file named by SIDECAR_TEST_RESULTS, one JSON line each,
// because the page and the host's console are not reliable channels.
import fs from 'node:fs';

export interface HostTest {
  name: string;
  fn: () => Promise<void> | void;
}

export interface HostResult {
  name: string;
  ok: boolean;
  error?: string;
  ms: number;
}

export async function runHostTests(suites: Record<string, HostTest[]>): Promise<void> {
  const file = process.env.SIDECAR_TEST_RESULTS;
  const write = (o: object) => (file ? fs.appendFileSync(file, JSON.stringify(o) + '\n') : console.log(JSON.stringify(o)));
  const filter = process.env.SIDECAR_TEST_FILTER;
  for (const [suite, tests] of Object.entries(suites)) {
    for (const t of tests) {
      const name = `${suite}: ${t.name}`;
      if (filter && !name.includes(filter)) continue;
      const start = Date.now();
      try {
        await t.fn();
        write({ name, ok: true, ms: Date.now() - start } satisfies HostResult);
      } catch (err) {
        write({ name, ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err), ms: Date.now() - start } satisfies HostResult);
      }
    }
  }
  write({ done: true });
}

/** Polls until `fn` returns a truthy value; tests wait on what the user would see. */
export async function eventually<T>(fn: () => Promise<T> | T, what: string, timeoutMs = 15000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
