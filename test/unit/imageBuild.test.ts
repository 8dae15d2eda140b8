// Debugger images built on first use, against the real engine. The machine
// has no registry, so the shipped Dockerfile gets the local gdb test image as
// its BASE (its install step is then skipped). Every test builds under a
// repository name of its own, so nothing here reuses an image from another run.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Engine } from '../../src/engine/engine';
import { resolveEndpoint } from '../../src/engine/connection';
import { CancelledError } from '../../src/engine/images';
import { builtImageTag, ensureBuiltImage, ImageBuildError, type ImageBuildSpec } from '../../src/engine/imageBuild';
import { gdbImageSpec, shippedImagesDir } from '../../src/debug/gdbSidecar';
import { IMAGES, TEST_LABEL, testDocker, uniqueName } from '../helpers/docker';
import { projectRoot } from '../helpers/paths';

const docker = testDocker();
const engine = new Engine(resolveEndpoint(undefined));
const tags: string[] = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-image-build-'));

/** The shipped gdb Dockerfile on the local gdb base, under a repository used by this file only. */
function gdbSpec(dir?: string): ImageBuildSpec {
  const spec = gdbImageSpec({ buildArgs: { BASE: IMAGES.gdb } });
  return { ...spec, dir: dir ?? spec.dir, repository: `container-sidecar-test/${uniqueName('gdb-build')}` };
}

/** A Dockerfile of a test's own in a temp folder. */
function dockerfile(text: string): string {
  const dir = fs.mkdtempSync(path.join(tmp, 'ctx-'));
  fs.writeFileSync(path.join(dir, 'Dockerfile'), text);
  return dir;
}

async function build(spec: ImageBuildSpec, signal?: AbortSignal): Promise<{ tag: string; lines: string[] }> {
  const lines: string[] = [];
  tags.push(builtImageTag(spec));
  const tag = await ensureBuiltImage(engine, spec, { onProgress: (l) => lines.push(l), signal });
  return { tag, lines };
}

/** Runs argv in a throwaway container of `image` and returns its output. */
async function runIn(image: string, cmd: string[]): Promise<string> {
  const out = new PassThrough();
  const parts: Buffer[] = [];
  out.on('data', (b: Buffer) => parts.push(b));
  const [res] = await docker.run(image, cmd, out, { Labels: { [TEST_LABEL]: 'true' }, HostConfig: { AutoRemove: true, NetworkMode: 'none' } }) as [{ StatusCode: number }];
  assert.equal(res.StatusCode, 0, Buffer.concat(parts).toString());
  return Buffer.concat(parts).toString();
}

describe('debugger images built from the shipped Dockerfile', () => {
  after(async () => {
    for (const t of tags) await docker.getImage(t).remove().catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the shipped Dockerfile is found from the compiled code and is what the .vsix allowlists', () => {
    assert.equal(shippedImagesDir(), path.join(projectRoot, 'images'));
    assert.match(fs.readFileSync(path.join(projectRoot, '.vscodeignore'), 'utf8'), /^!images\/\*\*$/m);
    assert.match(fs.readFileSync(path.join(projectRoot, 'images/gdb/Dockerfile'), 'utf8'), /^ARG BASE=debian:bookworm-slim$/m);
  });

  const spec = gdbSpec();
  let first = '';

  it('builds the gdb image from a local base; gdb runs in it', async () => {
    const { tag, lines } = await build(spec);
    assert.match(tag, /^container-sidecar-test\/gdb-build-[^:]+:[0-9a-f]{12}$/);
    assert.ok(lines.some((l) => /^Step \d+\/\d+ : RUN command -v gdb/.test(l)), lines.join('\n'));
    first = (await docker.getImage(tag).inspect()).Id;
    assert.match(await runIn(tag, ['gdb', '--version']), /GNU gdb/);
  });

  it('reuses the image while the Dockerfile is unchanged: no second build', async () => {
    const { tag, lines } = await build(spec);
    assert.equal(tag, builtImageTag(spec));
    assert.deepEqual(lines, [], 'no build output: nothing was built');
    assert.equal((await docker.getImage(tag).inspect()).Id, first);
  });

  it('builds anew when the Dockerfile changes (a temp copy with one more line)', async () => {
    const dir = dockerfile(`${fs.readFileSync(path.join(spec.dir, 'Dockerfile'), 'utf8')}LABEL io.container-sidecar.test-changed=1\n`);
    const changed = { ...spec, dir };
    const { tag, lines } = await build(changed);
    assert.notEqual(tag, builtImageTag(spec));
    assert.ok(lines.some((l) => /^Step \d+\/\d+ : LABEL io.container-sidecar.test-changed=1/.test(l)), lines.join('\n'));
    const img = await docker.getImage(tag).inspect();
    assert.notEqual(img.Id, first);
    assert.equal(img.Config.Labels?.['io.container-sidecar.test-changed'], '1');
  });

  it('a base image the engine cannot get: the message names the step, the engine error and the setting', async () => {
    const bad = { ...gdbSpec(), buildArgs: { BASE: 'container-sidecar-test/no-such-base:1' } };
    await assert.rejects(build(bad), (err: unknown) => {
      assert.ok(err instanceof ImageBuildError, String(err));
      assert.match(err.message, /^Building the image container-sidecar-test\/gdb-build-\S+ failed at step "FROM container-sidecar-test\/no-such-base:1": \S.*\. To use a prebuilt image instead, set sidecar\.debugger\.gdbImage /);
      return true;
    });
  });

  it('a failing RUN step: the message names that step and its exit code', async () => {
    const failing = { ...gdbSpec(dockerfile('ARG BASE\nFROM ${BASE}\nRUN exit 3\n')), buildArgs: { BASE: IMAGES.busybox } };
    await assert.rejects(build(failing), (err: unknown) => {
      assert.ok(err instanceof ImageBuildError, String(err));
      assert.match(err.message, /failed at step "RUN exit 3": .*returned a non-zero code: 3\. To use a prebuilt image instead, set sidecar\.debugger\.gdbImage/);
      return true;
    });
    await assert.rejects(docker.getImage(builtImageTag(failing)).inspect(), /no such image/i);
  });

  it('cancel stops the build: no image, and the engine removes the step container', async () => {
    const mark = uniqueName('cancel');
    // The LABEL reaches the RUN step's container, so the test can find it.
    const slow = { ...gdbSpec(dockerfile(`ARG BASE\nFROM \${BASE}\nLABEL ${TEST_LABEL}.build=${mark}\nRUN sleep 300\n`)), buildArgs: { BASE: IMAGES.busybox } };
    const abort = new AbortController();
    const lines: string[] = [];
    tags.push(builtImageTag(slow));
    const building = ensureBuiltImage(engine, slow, {
      signal: abort.signal,
      onProgress: (l) => {
        lines.push(l);
        if (/^ ---> Running in /.test(l)) abort.abort();
      },
    });
    await assert.rejects(building, (err: unknown) => err instanceof CancelledError);
    assert.ok(lines.some((l) => /Running in/.test(l)), 'the RUN step had started');
    const filters = { label: [`${TEST_LABEL}.build=${mark}`] };
    const deadline = Date.now() + 60_000;
    let left = await docker.listContainers({ all: true, filters });
    while (left.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      left = await docker.listContainers({ all: true, filters });
    }
    assert.deepEqual(left.map((c) => c.Id), [], 'the cancelled step container is gone');
    await assert.rejects(docker.getImage(builtImageTag(slow)).inspect(), /no such image/i);
    // The LABEL step's cached layer carries the mark too: remove it so runs leave nothing behind.
    for (const img of await docker.listImages({ all: true, filters: { label: [`${TEST_LABEL}.build=${mark}`] } })) await docker.getImage(img.Id).remove().catch(() => undefined);
  });
});
