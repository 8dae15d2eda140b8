// The workbench side of debugger images: a prebuilt image from the settings,
// else the shipped Dockerfile built on first use under a cancellable progress
// notification that shows the build's output (also written to the log).
import path from 'node:path';
import * as vscode from 'vscode';
import type { SidecarContext } from '../context';
import type { Engine } from '../engine/engine';
import { CancelledError, hasImage } from '../engine/images';
import { builtImageTag, ensureBuiltImage, ImageBuildError, type ImageBuildSpec } from '../engine/imageBuild';
import { GDB_IMAGE_SETTING, gdbImageSpec } from './gdbSidecar';
import { imageForStart } from '../trust/consent';

/** The gdb image to run, built now if needed; undefined when the user cancelled or the build failed (already told). */
export function gdbImageForWorkbench(ctx: SidecarContext, engine?: Engine): Promise<string | undefined> {
  return builtImageForWorkbench(ctx, { setting: GDB_IMAGE_SETTING, what: 'gdb', spec: (dir) => gdbImageSpec({ imagesDir: dir }), engine });
}

/**
 * A debugger's image: the one `setting` names, else `spec` (a Dockerfile
 * shipped under images/) built now if missing. Undefined when the user
 * cancelled or the build failed (already told, with a button to the setting).
 */
export async function builtImageForWorkbench(ctx: SidecarContext, o: { setting: string; what: string; spec: (imagesDir: string) => ImageBuildSpec; engine?: Engine }): Promise<string | undefined> {
  // Built on the engine that runs the debugger: each engine has its own images.
  const engine = o.engine ?? ctx.engine;
  const configured = await imageForStart(ctx, o.setting, '');
  if (configured) return configured;
  const spec = o.spec(path.join(ctx.extension.extensionPath, 'images'));
  const tag = builtImageTag(spec);
  // Reused silently: only a real build deserves a notification.
  if (await hasImage(engine, tag)) return tag;
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Building the ${o.what} debugger image ${tag} (first use)`, cancellable: true }, async (progress, token) => {
    const abort = new AbortController();
    const sub = token.onCancellationRequested(() => abort.abort());
    try {
      return await ensureBuiltImage(engine, spec, {
        signal: abort.signal,
        onProgress: (line) => {
          ctx.log.info(`[image ${tag}] ${line}`);
          progress.report({ message: line });
        },
      });
    } catch (err) {
      if (err instanceof CancelledError) {
        ctx.log.info(`[image ${tag}] build cancelled`);
        return undefined;
      }
      if (!(err instanceof ImageBuildError)) throw err;
      ctx.log.error(err.message);
      const open = 'Open Setting';
      void vscode.window.showErrorMessage(err.message, open).then((choice) => {
        if (choice === open) void vscode.commands.executeCommand('workbench.action.openSettings', o.setting);
      });
      return undefined;
    } finally {
      sub.dispose();
    }
  });
}
