/** File hashing for the package contract: the manifest's sha256 of every file, checked when written and when loaded. */

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  // Web Crypto exists in browsers and in Node ≥ 19 as globalThis.crypto.
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
