// The engine streams events and stats as one JSON document per line. No vscode import.

/**
 * Calls `onValue` with each JSON line of `stream` as it arrives (chunks may
 * split a line). A line that does not parse, or that `onValue` rejects by
 * throwing, is dropped: callers say in their comment why losing one is fine.
 */
export function onJsonLines(stream: NodeJS.ReadableStream, onValue: (value: unknown) => void): void {
  let buf = '';
  stream.on('data', (chunk: Buffer) => {
    buf += chunk.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line) continue;
      try {
        onValue(JSON.parse(line));
      } catch {
        // dropped, as documented above
      }
    }
  });
}
