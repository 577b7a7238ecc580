/**
 * Evaluations in IndexedDB, like the run history (runsDb.ts): one entry per evaluation (its
 * settings, status and, once computed, results and speed documents) and one record per item and
 * method, written as each finishes, so a closed tab or a stopped run loses at most the item in
 * flight and the same folder picked again resumes where it stopped. Exported as the CLI's files.
 * The database code needs a browser (e2e/eval.spec.ts); the key logic is plain functions.
 */
import type { ItemRecord } from '../../eval/types';
import type { EvalResults, EvalSpeed, RunHeader } from '../../eval/summary';

export const EVAL_DB = 'sparsevlm-evals';
const VERSION = 1;

export interface StoredEval {
  id: string;
  createdAt: number;
  updatedAt: number;
  header: RunHeader;
  /** Method specs as asked, `none` first. */
  methods: string[];
  status: 'running' | 'stopped' | 'done' | 'error';
  /** Records stored so far (of items × methods). */
  recordCount: number;
  results: EvalResults | null;
  speed: EvalSpeed | null;
}

/** Evaluations whose records can be continued by another: same data, model, prompt and length. */
export function resumeKey(header: RunHeader): string {
  return JSON.stringify([header.format, header.data, header.items, header.model, header.suffix, header.maxNewTokens]);
}

const request = <T>(req: IDBRequest<T>) =>
  new Promise<T>((ok, fail) => {
    req.onsuccess = () => ok(req.result);
    req.onerror = () => fail(req.error);
  });

export class EvalDb {
  private constructor(private readonly db: IDBDatabase) {}

  static async open(name = EVAL_DB): Promise<EvalDb> {
    const req = indexedDB.open(name, VERSION);
    req.onupgradeneeded = () => {
      const evals = req.result.createObjectStore('evals', { keyPath: 'id' });
      evals.createIndex('createdAt', 'createdAt');
      const records = req.result.createObjectStore('records', { keyPath: ['evalId', 'method', 'id'] });
      records.createIndex('evalId', 'evalId');
    };
    return new EvalDb(await request(req));
  }

  async putEval(stored: StoredEval): Promise<void> {
    await request(this.db.transaction('evals', 'readwrite').objectStore('evals').put(stored));
  }

  async getEval(id: string): Promise<StoredEval | null> {
    return (await request(this.db.transaction('evals', 'readonly').objectStore('evals').get(id))) ?? null;
  }

  /** Newest first. */
  async listEvals(): Promise<StoredEval[]> {
    const all = (await request(this.db.transaction('evals', 'readonly').objectStore('evals').getAll())) as StoredEval[];
    return all.sort((a, b) => b.createdAt - a.createdAt);
  }

  async appendRecord(evalId: string, record: ItemRecord): Promise<void> {
    await request(
      this.db
        .transaction('records', 'readwrite')
        .objectStore('records')
        .put({ ...record, evalId }),
    );
  }

  async records(evalId: string): Promise<ItemRecord[]> {
    const rows = (await request(
      this.db.transaction('records', 'readonly').objectStore('records').index('evalId').getAll(evalId),
    )) as (ItemRecord & { evalId?: string })[];
    return rows.map(({ evalId: _evalId, ...r }) => r);
  }

  async deleteEval(id: string): Promise<void> {
    const tx = this.db.transaction(['evals', 'records'], 'readwrite');
    tx.objectStore('evals').delete(id);
    const keys = await request(tx.objectStore('records').index('evalId').getAllKeys(id));
    for (const k of keys) tx.objectStore('records').delete(k);
    await new Promise<void>((ok, fail) => {
      tx.oncomplete = () => ok();
      tx.onerror = () => fail(tx.error);
    });
  }
}
