import { describe, expect, it } from 'vitest';
import { MemoryByteSource } from './bytesource';
import { ConvertError } from '../../common/errors';
import { SafetensorsFile, toFloat32 } from './safetensors';
import { encodeSafetensors, encodeSafetensorsHeader, fromFloat32 } from '../synthetic/safetensorsWriter';
import { f16ToF32, f32ToF16 } from '../../common/float16';

const tensors = [
  { name: 'a', dtype: 'F32' as const, shape: [2, 3] },
  { name: 'b', dtype: 'F16' as const, shape: [5] },
  { name: 'c', dtype: 'BF16' as const, shape: [1, 4] },
];
const values: Record<string, Float32Array> = {
  a: Float32Array.from([1, -2, 3.5, 0, 1e-3, -7]),
  b: Float32Array.from([0.5, -1, 65504, 6e-8, 0]),
  c: Float32Array.from([1, -0.5, 256, 3]),
};

async function sample(): Promise<Uint8Array> {
  return encodeSafetensors(tensors, (t) => values[t.name]);
}

function errorOf(p: Promise<unknown>): Promise<ConvertError> {
  return p.then(
    () => {
      throw new Error('expected a ConvertError');
    },
    (e) => e as ConvertError,
  );
}

describe('safetensors', () => {
  it('round-trips F32/F16/BF16 through writer and reader, tensor by tensor', async () => {
    const bytes = await sample();
    expect(bytes.byteLength - Number(new DataView(bytes.buffer).getBigUint64(0, true)) - 8).toBe(6 * 4 + 5 * 2 + 4 * 2);
    const file = await SafetensorsFile.open(new MemoryByteSource(bytes), 'x.safetensors');
    expect(file.names()).toEqual(['a', 'b', 'c']);
    expect(file.entry('b')).toMatchObject({ dtype: 'F16', shape: [5] });
    expect(Array.from(await file.readF32('a'))).toEqual(Array.from(values.a));
    const b = await file.readF32('b');
    expect(b[0]).toBe(0.5);
    expect(b[2]).toBe(65504);
    expect(b[3]).toBeCloseTo(5.96e-8, 9); // subnormal half
    expect(Array.from(await file.readF32('c'))).toEqual([1, -0.5, 256, 3]);
    // The data section starts 8-byte aligned (header padded with spaces).
    expect(encodeSafetensorsHeader(tensors).byteLength % 8).toBe(0);
  });

  it('is deterministic', async () => {
    expect(Buffer.from(await sample()).equals(Buffer.from(await sample()))).toBe(true);
  });

  it('converts halves exactly on representable values and rounds to nearest even', () => {
    const xs = Float32Array.from([1, 1 + 2 ** -11, 1 + 3 * 2 ** -11, -2, 70000, Infinity, 2 ** -24, 2 ** -26]);
    const back = f16ToF32(f32ToF16(xs));
    expect(Array.from(back)).toEqual([1, 1, 1 + 2 ** -9, -2, Infinity, Infinity, 2 ** -24, 0]);
    expect(Number.isNaN(f16ToF32(f32ToF16(Float32Array.from([NaN])))[0])).toBe(true);
    expect(Array.from(toFloat32(fromFloat32(Float32Array.from([1.5, -3]), 'BF16'), 'BF16'))).toEqual([1.5, -3]);
  });

  it('names the file and the tensor when the file is truncated', async () => {
    const bytes = await sample();
    const err = await errorOf(
      SafetensorsFile.open(
        new MemoryByteSource(bytes.subarray(0, bytes.byteLength - 3)),
        'model-00002-of-00003.safetensors',
      ),
    );
    expect(err).toBeInstanceOf(ConvertError);
    expect(err.code).toBe('truncated');
    expect(err.message).toMatch(
      /^model-00002-of-00003\.safetensors: truncated: header says tensor "c" ends at byte [\d,]+ but the file has [\d,]+$/,
    );
    expect(err.message).not.toContain('\n');
  });

  it('rejects an implausible header length, bad JSON, unknown dtypes, bad spans and overlaps', async () => {
    const bytes = await sample();
    const garbage = bytes.slice();
    new DataView(garbage.buffer).setBigUint64(0, 2n ** 40n, true);
    expect((await errorOf(SafetensorsFile.open(new MemoryByteSource(garbage), 'g.safetensors'))).message).toMatch(
      /^g\.safetensors: header length .* not plausible/,
    );

    const withHeader = (header: object, dataBytes: number) => {
      const json = new TextEncoder().encode(JSON.stringify(header));
      const out = new Uint8Array(8 + json.byteLength + dataBytes);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
      out.set(json, 8);
      return new MemoryByteSource(out);
    };
    const broken = new Uint8Array(16);
    new DataView(broken.buffer).setBigUint64(0, 8n, true);
    broken.set(new TextEncoder().encode('{"a": [}'), 8);
    expect((await errorOf(SafetensorsFile.open(new MemoryByteSource(broken), 'j.safetensors'))).code).toBe(
      'bad-header',
    );

    const i64 = await errorOf(
      SafetensorsFile.open(withHeader({ x: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, 8), 'd.safetensors'),
    );
    expect(i64.code).toBe('unknown-dtype');
    expect(i64.message).toBe('d.safetensors: tensor "x" has dtype "I64" (supported: F32, F16, BF16)');

    const span = await errorOf(
      SafetensorsFile.open(withHeader({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), 's.safetensors'),
    );
    expect(span.message).toMatch(/tensor "x": data_offsets span 8 bytes but F32 \[3\] needs 12/);

    const overlap = await errorOf(
      SafetensorsFile.open(
        withHeader(
          {
            x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
            y: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
          },
          12,
        ),
        'o.safetensors',
      ),
    );
    expect(overlap.code).toBe('overlap');
    expect(overlap.message).toMatch(/^o\.safetensors: tensors "x" and "y" overlap/);
  });
});
