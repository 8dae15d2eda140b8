// Stands up every part of the test bench and returns how to tear down what
// this run started (and only that).
import { ensureEngine } from './engine.mjs';
import { ensureImages, IMAGES } from './images.mjs';
import { ensureCodeServer } from './codeserver.mjs';
import { aptEnsure, which } from './sh.mjs';

export async function standUp({ codeServer = true, browser = true } = {}) {
  const engine = await ensureEngine();
  try {
    await ensureImages();
    if (codeServer) await ensureCodeServer();
    if (browser && !which('chromium')) await aptEnsure(['chromium']);
  } catch (e) {
    await engine.stop();
    throw e;
  }
  process.env.SIDECAR_IMAGE_BUSYBOX = IMAGES.busybox;
  process.env.SIDECAR_IMAGE_TARGET = IMAGES.target;
  process.env.SIDECAR_IMAGE_GDB = IMAGES.gdb;
  return { engine, images: IMAGES };
}
