/** Test page API for e2e/persist.spec.ts: the real RunsDb and thumbnail code in the browser. */
import { RunsDb, makeThumbnail, newRunId, runMetrics, type StoredRun } from '../../src/store/persist/runsDb';

const api = {
  async save(
    run: Omit<StoredRun, 'id' | 'thumbnail' | 'metrics'> & {
      imageUrl: string;
      tokens: [number, number, number, number];
    },
  ) {
    const db = await RunsDb.open();
    const { imageUrl, tokens, ...rest } = run;
    const image = await (await fetch(imageUrl)).blob();
    const stored: StoredRun = {
      ...rest,
      id: newRunId(run.createdAt),
      thumbnail: await makeThumbnail(image),
      metrics: runMetrics(...tokens),
    };
    await db.put(stored);
    db.close();
    return stored.id;
  },
  async list() {
    const db = await RunsDb.open();
    const runs = await db.list();
    db.close();
    return Promise.all(
      runs.map(async (r) => {
        const bitmap = r.thumbnail ? await createImageBitmap(r.thumbnail) : null;
        return {
          ...r,
          thumbnail: r.thumbnail
            ? { type: r.thumbnail.type, bytes: r.thumbnail.size, width: bitmap!.width, height: bitmap!.height }
            : null,
        };
      }),
    );
  },
  async get(id: string) {
    const db = await RunsDb.open();
    const run = await db.get(id);
    db.close();
    return run && { ...run, thumbnail: run.thumbnail?.size ?? null };
  },
  async exportText(ids?: string[]) {
    const db = await RunsDb.open();
    const text = await (await db.export(ids)).text();
    db.close();
    return text;
  },
  async remove(id: string) {
    const db = await RunsDb.open();
    await db.delete(id);
    db.close();
  },
  async clear() {
    const db = await RunsDb.open();
    await db.clear();
    db.close();
  },
};

(window as unknown as { persistTest: typeof api }).persistTest = api;
document.body.dataset.ready = '1';
