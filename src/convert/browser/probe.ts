/**
 * One request before listing a hub repo from the page, to say what is wrong with an endpoint
 * in words a person can act on. In a page, fetch rejects alike for a server that cannot be
 * reached and for one that answered without CORS headers (the browser withholds the answer);
 * a second, `no-cors` request tells them apart: it resolves (opaquely) when the server answered.
 * A server that ignores Range requests (200 for `bytes=0-0`) cannot resume downloads, and one
 * that does not expose Content-Range to the page cannot be checked: both are refused here.
 * What a local mirror must send: README "Hub mirror for the browser".
 */
import { ConvertError } from '../../common/errors';
import { hubEndpoint, hubInit, hubUrl, type HubOptions } from '../checkpoint/hub';

export const MIRROR_HEADERS_HINT =
  "serve it with Access-Control-Allow-Origin: * (or this page's origin), Access-Control-Allow-Headers: Range, Authorization, " +
  'and Access-Control-Expose-Headers: Content-Length, Content-Range, Accept-Ranges, ETag, X-Linked-Etag, X-Repo-Commit (README: "Hub mirror for the browser")';

export async function probeHub(id: string, hub: HubOptions, signal?: AbortSignal): Promise<void> {
  const endpoint = hubEndpoint(hub);
  const url = hubUrl(id, 'config.json', hub);
  const headers = new Headers(hubInit(hub).headers);
  headers.set('Range', 'bytes=0-0');
  let res: Response;
  try {
    res = await fetch(url, { headers, cache: 'no-store', signal });
  } catch (err) {
    if (signal?.aborted) throw err;
    const answered = await fetch(url, { mode: 'no-cors', cache: 'no-store', signal }).then(
      () => true,
      () => false,
    );
    if (answered) {
      throw new ConvertError(
        'cors',
        endpoint,
        `the server answered, but without CORS headers, so the browser keeps its answer from this page: ${MIRROR_HEADERS_HINT}`,
      );
    }
    throw new ConvertError(
      'download',
      endpoint,
      `cannot reach the server (${(err as Error).message}): check the address and that it is running`,
    );
  }
  await res.body?.cancel().catch(() => {});
  if (res.status === 404 || res.status >= 500 || res.status === 429) return; // listing says what is missing; 5xx is retried there
  if (res.status === 401 || res.status === 403) {
    throw new ConvertError(
      'download',
      url,
      `HTTP ${res.status}: the hub refused access (a gated or private repo needs a token)`,
    );
  }
  if (res.status === 200) {
    throw new ConvertError(
      'no-range',
      endpoint,
      `the server ignores Range requests (it answered 200 with the whole file to "Range: bytes=0-0"); downloads need 206 Partial Content to resume and to be checked piece by piece`,
    );
  }
  if (res.status === 206 && res.headers.get('content-range') === null) {
    throw new ConvertError(
      'cors',
      endpoint,
      `the server answers Range requests, but its Content-Range header is not exposed to the page: ${MIRROR_HEADERS_HINT}`,
    );
  }
}
