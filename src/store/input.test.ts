/**
 * Input slice, issue 15: several images in the order given (move, remove, add), a video's
 * frames, mixes refused with nothing lost, and the generate request carrying them in order.
 * The DOM video sampler is covered end to end (e2e/multi.spec.ts); here a sampler returning
 * real PNG frames stands in for the `<video>` element, which Node has not.
 */
import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ToWorker } from '../engine/protocol';
import { connectEngine, handleMessage } from './engine';
import { clearVideo, moveImage, putFiles, removeImage, setFrameCount, setQuestion, setVideoFromBlob } from './input';
import { startEngine } from './model';
import { TINY_MODEL } from './tinyModel.testutil';
import { ask, askedAboutShown } from './runs';
import { settingsPatch } from './sessionSync';
import { getState, resetStore } from './store';
import { VideoReadError, type VideoSampler } from './videoFrames';
import { transferOf } from '../engine/client';

const posted: ToWorker[] = [];
connectEngine({ post: (m) => posted.push(m), subscribe: () => {} });
const accept = async () => {};
const png = (path: string) => new Blob([readFileSync(path)], { type: 'image/png' });
const file = (name: string, path = 'public/samples/shapes.png') => ({ blob: png(path), name });
const model = TINY_MODEL;
const names = () => getState().images.map((im) => im.name);
const lastGenerate = () =>
  posted.filter((m) => m.type === 'generate').at(-1) as Extract<ToWorker, { type: 'generate' }>;

/** Frames at the sampled ms positions of a 2 s video, each a real PNG (the sample pictures in turn). */
const sampler: VideoSampler = async (_blob, _name, count) => {
  const pictures = ['public/samples/shapes.png', 'public/samples/chart.png'].map((p) => readFileSync(p));
  const frames = Array.from({ length: count }, (_, i) => {
    const bytes = pictures[i % 2];
    return {
      png: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
      index: Math.trunc((i * 1999) / Math.max(1, count - 1)),
      of: 2000,
      timeS: 0,
      width: 8,
      height: 8,
    };
  });
  frames.forEach((f) => {
    f.timeS = f.index / 1000;
  });
  return { durationS: 2, width: 8, height: 8, frames };
};
const video = () => ({ blob: new Blob([new Uint8Array(16)], { type: 'video/webm' }), name: 'clip.webm' });

beforeEach(() => {
  resetStore();
  posted.length = 0;
});

describe('several images', () => {
  it('keeps the order given; add appends, move and remove change it; image is the first', async () => {
    expect(await putFiles([file('a.png'), file('b.png', 'public/samples/chart.png')], 'replace', accept)).toBe(true);
    expect(names()).toEqual(['a.png', 'b.png']);
    expect(await putFiles([file('c.png')], 'add', accept)).toBe(true);
    expect(names()).toEqual(['a.png', 'b.png', 'c.png']);
    moveImage(2, -1);
    expect(names()).toEqual(['a.png', 'c.png', 'b.png']);
    moveImage(0, -1); // already first: unchanged
    expect(names()).toEqual(['a.png', 'c.png', 'b.png']);
    removeImage(0);
    expect(names()).toEqual(['c.png', 'b.png']);
    expect(getState().image?.name).toBe('c.png');
  });

  it('one bad file among several leaves the input as it was, naming the file', async () => {
    await putFiles([file('a.png')], 'replace', accept);
    const before = getState().images;
    const text = { blob: new Blob(['not an image'], { type: 'text/plain' }), name: 'notes.txt' };
    expect(await putFiles([file('b.png'), text], 'add', accept)).toBe(false);
    expect(getState().images).toBe(before);
    expect(getState().errors.input?.message).toMatch(/notes\.txt.*None of the 2 files was added\./);
  });

  it('sends the images in prompt order as `images`, and a run is tied to that order', async () => {
    startEngine(true);
    handleMessage({ type: 'loaded', id: posted.find((m) => m.type === 'load')!.id, model });
    await putFiles([file('a.png'), file('b.png', 'public/samples/chart.png')], 'replace', accept);
    setQuestion('Which differs?');
    ask();
    const sent = lastGenerate();
    expect(sent.images?.map((im) => im.name)).toEqual(['a.png', 'b.png']);
    expect(sent.images?.map((im) => im.bytes.byteLength)).toEqual(getState().images.map((im) => im.bytes.byteLength));
    expect(sent.images?.every((im) => im.frame === undefined)).toBe(true);
    const run = getState().runs[0];
    expect(run.imageName).toBe('a.png + b.png');
    expect(askedAboutShown(run, getState())).toBe(true);
    // The request's buffers are its own copies, moved to the worker (transferOf); the input keeps its bytes.
    const transfer = transferOf(sent);
    expect(transfer).toEqual(sent.images!.map((im) => im.bytes));
    expect(transfer.some((b) => getState().images.some((im) => im.bytes === b))).toBe(false);
    moveImage(1, -1);
    expect(askedAboutShown(run, getState())).toBe(false); // b, a is another question
  });
});

describe('video', () => {
  it('is sampled to the frame count (default 8) and sent as frames with their positions', async () => {
    startEngine(true);
    handleMessage({ type: 'loaded', id: posted.find((m) => m.type === 'load')!.id, model });
    expect(getState().frameCount).toBe(8);
    expect(await putFiles([video()], 'replace', accept, sampler)).toBe(true);
    expect(getState().video?.name).toBe('clip.webm');
    expect(getState().images.map((im) => im.frame?.index)).toEqual([0, 285, 571, 856, 1142, 1427, 1713, 1999]);
    setQuestion('What happens?');
    ask();
    expect(lastGenerate().images?.map((im) => im.frame)).toEqual(
      getState().images.map((im) => ({ index: im.frame!.index, of: 2000 })),
    );
    expect(getState().runs[0].imageName).toBe('clip.webm (8 frames)');
    expect(await setFrameCount(3, sampler)).toBe(true);
    expect(getState().images.map((im) => im.frame?.timeS)).toEqual([0, 0.999, 1.999]);
  });

  it('the frame count survives a reload when it is a whole number ≥ 1', () => {
    expect(settingsPatch({ frameCount: 12 }).frameCount).toBe(12);
    for (const bad of [0, -3, 2.5, Number.NaN])
      expect(settingsPatch({ frameCount: bad })).not.toHaveProperty('frameCount');
  });

  it('a frame count changed while the video is read is the one it ends with; a later video wins', async () => {
    let release: () => void = () => {};
    const slow: VideoSampler = async (blob, name, count) => {
      await new Promise<void>((r) => {
        release = r;
      });
      return sampler(blob, name, count);
    };
    const first = setVideoFromBlob(video().blob, 'clip.webm', slow);
    expect(getState().sampling).toBe('clip.webm');
    await setFrameCount(3, slow); // no video yet: only the setting changes
    release();
    await new Promise((r) => setTimeout(r, 0));
    release(); // the second sampling, with 3
    expect(await first).toBe(true);
    expect(getState().images).toHaveLength(3);
    expect(getState().sampling).toBeNull();

    const a = setVideoFromBlob(video().blob, 'a.webm', slow);
    const releaseA = release;
    const b = setVideoFromBlob(video().blob, 'b.webm', sampler);
    expect(await b).toBe(true);
    releaseA();
    expect(await a).toBe(false);
    expect(getState().video?.name).toBe('b.webm');
  });

  it('refuses a bad frame count and keeps the frames', async () => {
    await setVideoFromBlob(video().blob, 'clip.webm', sampler);
    const before = getState().images;
    expect(await setFrameCount(0, sampler)).toBe(false);
    expect(getState().errors.input?.message).toBe('The number of frames must be a whole number of at least 1, not 0.');
    expect(getState().images).toBe(before);
    expect(getState().frameCount).toBe(8);
  });

  it('an unreadable video or one without frames says so and keeps what was there', async () => {
    await putFiles([file('a.png')], 'replace', accept);
    const before = getState().images;
    const unreadable: VideoSampler = async (_b, name) => {
      throw new VideoReadError(
        'unreadable-video',
        `The video ${name} could not be read: this browser cannot decode it (damaged or unsupported data).`,
      );
    };
    expect(await putFiles([video()], 'replace', accept, unreadable)).toBe(false);
    expect(getState().errors.input).toMatchObject({ code: 'unreadable-video' });
    expect(getState().images).toBe(before);
    const empty: VideoSampler = async () => ({ durationS: 0, width: 8, height: 8, frames: [] });
    expect(await putFiles([video()], 'replace', accept, empty)).toBe(false);
    expect(getState().errors.input).toMatchObject({ code: 'no-frames', message: 'The video clip.webm has no frames.' });
    expect(getState().images).toBe(before);
    expect(getState().sampling).toBeNull();
  });

  it('a video with images is refused, either way round, with nothing lost', async () => {
    await putFiles([file('a.png')], 'replace', accept);
    expect(await putFiles([video()], 'add', accept, sampler)).toBe(false);
    expect(getState().errors.input?.message).toMatch(
      /^A video and images cannot go into one question.*Remove the image first/,
    );
    expect(await putFiles([file('b.png'), video()], 'replace', accept, sampler)).toBe(false);
    expect(getState().errors.input?.code).toBe('video-with-images');
    expect(names()).toEqual(['a.png']);
    await putFiles([video()], 'replace', accept, sampler); // choosing a video on its own replaces the image
    const frames = getState().images;
    expect(await putFiles([file('b.png')], 'add', accept)).toBe(false);
    expect(getState().errors.input?.message).toMatch(/Remove the video clip\.webm first/);
    expect(getState().images).toBe(frames);
    removeImage(0); // a frame is not removed on its own
    expect(getState().images).toBe(frames);
    clearVideo();
    expect(getState()).toMatchObject({ images: [], image: null, video: null });
  });
});
