// What both panels share: the page skeleton with a strict CSP, and the
// options that keep a webview to our own bundled files.
import * as vscode from 'vscode';
import crypto from 'node:crypto';

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  return {
    enableScripts: true,
    // Only the bundle folder: the page cannot load anything else of the extension or the disk.
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webviews')],
    // The map's layout and the charts' history survive a tab switch; the stats stream does not run meanwhile.
    retainContextWhenHidden: false,
  };
}

/**
 * The page: no remote resources, scripts only with this load's nonce, styles
 * only from our bundle. Images (the PNG export) only as data: URLs.
 * `inline`: messages the page handles at load as if the host had posted them
 * (validated the same way), so a first drawing needs no round trip. They sit
 * in a JSON data block, which is never executed; `<` is escaped so no value
 * can close the block.
 */
export function pageHtml(webview: vscode.Webview, extensionUri: vscode.Uri, panel: 'map' | 'details', title: string, inline: unknown[] = []): string {
  const nonce = crypto.randomBytes(16).toString('base64');
  const asset = (f: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webviews', f)).toString();
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    // Script may still set element.style (CSSOM); style sheets and style attributes only from our bundle.
    `style-src ${webview.cspSource}`,
    'img-src data:',
    `font-src ${webview.cspSource}`,
  ].join('; ');
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${asset('panels.css')}">
<title>${esc(title)}</title>
</head>
<body data-panel="${panel}">
<div id="app" role="main"></div>
<script type="application/json" id="inline">${JSON.stringify(inline).replace(/</g, '\\u003c')}</script>
<script nonce="${nonce}" src="${asset(`${panel}.js`)}"></script>
</body>
</html>`;
}
