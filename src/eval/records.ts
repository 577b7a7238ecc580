/**
 * The append-only record log of a run (`records.jsonl`, or IndexedDB in the app): one
 * ItemRecord per line, written as each item finishes, so a run that is killed loses at most
 * the item in flight and a restart asks only what is missing. A last line cut off by the kill
 * is dropped (and the file is cut back to the last whole line before appending).
 */
import type { ItemRecord } from './types';

export const recordKey = (method: string, id: string) => `${method}\t${id}`;

export function serialiseRecord(record: ItemRecord): string {
  return `${JSON.stringify(record)}\n`;
}

/**
 * The whole records in a log's text, and the length of the text they span (what to keep when
 * the tail is a partial line). A later record for the same key replaces an earlier one.
 */
export function parseRecordLog(text: string): { records: ItemRecord[]; validLength: number } {
  const byKey = new Map<string, ItemRecord>();
  let validLength = 0;
  let start = 0;
  while (start < text.length) {
    const end = text.indexOf('\n', start);
    if (end < 0) break; // no newline: the write was cut off
    const line = text.slice(start, end);
    try {
      const r = JSON.parse(line) as ItemRecord;
      if (typeof r.method === 'string' && typeof r.id === 'string') byKey.set(recordKey(r.method, r.id), r);
    } catch {
      break; // a damaged line: everything from here on is rewritten
    }
    start = end + 1;
    validLength = start;
  }
  return { records: [...byKey.values()], validLength };
}
