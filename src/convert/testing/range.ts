/**
 * The test servers' reading of a request's `Range` header (one span, `bytes=a-` or `bytes=a-b`,
 * as the converter's downloads send it), written once for hubServer.ts and faultServer.ts, and
 * how both start listening.
 */
import type { Server } from 'node:http';

export type RangeAnswer =
  | { status: 200 | 206; start: number; last: number }
  /** 416: `unparsable` when the header is not a single `bytes=` span, else the span starts past the end. */
  | { status: 416; unparsable: boolean };

/** What to answer for `range` on a `size`-byte file: the whole file (200), a span (206, `last` inclusive) or 416. */
export function answerRange(range: string | null | undefined, size: number): RangeAnswer {
  if (!range) return { status: 200, start: 0, last: size - 1 };
  const r = /^bytes=(\d+)-(\d*)$/.exec(range);
  if (!r) return { status: 416, unparsable: true };
  const start = Number(r[1]);
  const last = r[2] ? Math.min(Number(r[2]), size - 1) : size - 1;
  if (start > last) return { status: 416, unparsable: false };
  return { status: 206, start, last };
}

/** Starts `server` on a free port of 127.0.0.1; its base URL. */
export async function listenLocally(server: Server): Promise<string> {
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return `http://127.0.0.1:${port}`;
}
