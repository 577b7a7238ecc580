/**
 * A small ONNX graph builder: typed initializers, nodes with attributes, symbolic dims, and
 * serialisation to deterministic bytes (no timestamps; names come from the caller or a
 * per-graph counter), optionally with large initializers moved to an external data file.
 * Runs in Node and in the browser (protobufjs/light, no fs).
 */
import { AttributeType, DataType, type DataTypeCode, ModelProto } from './proto';

/** A dimension: a fixed size or a symbolic name such as 'S' or 'P'. */
export type Dim = number | string;

export type ElemType = 'float32' | 'float16' | 'int64' | 'uint8' | 'bool' | 'int32';
const elemCode: Record<ElemType, DataTypeCode> = {
  float32: DataType.FLOAT,
  float16: DataType.FLOAT16,
  int64: DataType.INT64,
  uint8: DataType.UINT8,
  bool: DataType.BOOL,
  int32: DataType.INT32,
};
export function dataTypeOf(elemType: ElemType): DataTypeCode {
  return elemCode[elemType];
}

/** Attribute values, tagged so an int is never written as a float by accident. */
export type Attr =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: number[] }
  | { kind: 'floats'; value: number[] }
  | { kind: 'string'; value: string };
export const attr = {
  int: (value: number): Attr => ({ kind: 'int', value }),
  float: (value: number): Attr => ({ kind: 'float', value }),
  ints: (value: number[]): Attr => ({ kind: 'ints', value }),
  floats: (value: number[]): Attr => ({ kind: 'floats', value }),
  string: (value: string): Attr => ({ kind: 'string', value }),
};

export class GraphBuildError extends Error {
  override readonly name = 'GraphBuildError';
  constructor(
    readonly graph: string,
    readonly detail: string,
  ) {
    super(`graph ${graph}: ${detail}`);
  }
}

interface Initializer {
  name: string;
  dataType: DataTypeCode;
  dims: number[];
  /** Empty once the tensor has been spilled to a data chunk (see `spillTo`). */
  bytes: Uint8Array;
  byteLength: number;
  spilled?: { location: string; offset: number };
}

export interface SpillOptions {
  /** Name of data chunk `index` (0, 1, …), relative to the graph. */
  location: (index: number) => string;
  /** A chunk is closed before it would grow past this (a single larger tensor gets its own). */
  maxChunkBytes: number;
  /** Initializers of at least this many bytes are spilled. */
  minBytes?: number;
  align?: number;
}

/** A closed external-data chunk: the bytes of one data file. */
export interface DataChunk {
  location: string;
  bytes: Uint8Array;
}
interface ValueInfo {
  name: string;
  elem: ElemType;
  dims: Dim[];
}
interface NodeRec {
  opType: string;
  domain: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attrs: [string, Attr][];
}

export interface ExternalDataOptions {
  /** File name of the data file, relative to the graph (e.g. '07.onnx.data'). */
  location: string;
  /** Initializers of at least this many bytes go to the data file. */
  minBytes?: number;
  /** Each tensor starts at a multiple of this (page alignment lets a runtime map it). */
  align?: number;
}

export interface SerializedGraph {
  model: Uint8Array;
  /** Present when external data was requested and at least one tensor went there. */
  data?: Uint8Array;
}

/** Bytes of a typed array as a view (no copy). */
function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

export const MS_DOMAIN = 'com.microsoft';

export class GraphBuilder {
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly inits = new Map<string, Initializer>();
  private readonly nodes: NodeRec[] = [];
  private readonly constCache = new Map<string, string>();
  private counter = 0;
  private usesMs = false;
  private spill?: Required<SpillOptions> & {
    index: number;
    size: number;
    parts: { offset: number; bytes: Uint8Array }[];
    closed: DataChunk[];
  };

  constructor(
    readonly name: string,
    readonly opset = 17,
  ) {}

  input(name: string, elem: ElemType, dims: Dim[]): string {
    this.inputs.push({ name, elem, dims });
    return name;
  }

  output(name: string, elem: ElemType, dims: Dim[]): string {
    this.outputs.push({ name, elem, dims });
    return name;
  }

  private addInit(name: string, dataType: DataTypeCode, dims: number[], bytes: Uint8Array): string {
    if (this.inits.has(name)) throw new GraphBuildError(this.name, `initializer "${name}" added twice`);
    const count = dims.reduce((a, b) => a * b, 1);
    const width =
      dataType === DataType.FLOAT || dataType === DataType.INT32
        ? 4
        : dataType === DataType.INT64
          ? 8
          : dataType === DataType.FLOAT16
            ? 2
            : 1;
    if (count * width !== bytes.byteLength) {
      throw new GraphBuildError(
        this.name,
        `initializer "${name}": dims [${dims}] need ${count * width} bytes, got ${bytes.byteLength}`,
      );
    }
    const init: Initializer = { name, dataType, dims, bytes, byteLength: bytes.byteLength };
    this.inits.set(name, init);
    const sp = this.spill;
    if (sp && bytes.byteLength >= sp.minBytes) {
      const offset = Math.ceil(sp.size / sp.align) * sp.align;
      if (sp.parts.length > 0 && offset + bytes.byteLength > sp.maxChunkBytes) this.closeChunk();
      return this.addSpilled(init);
    }
    return name;
  }

  private addSpilled(init: Initializer): string {
    const sp = this.spill!;
    const offset = Math.ceil(sp.size / sp.align) * sp.align;
    sp.parts.push({ offset, bytes: init.bytes });
    sp.size = offset + init.bytes.byteLength;
    init.spilled = { location: sp.location(sp.index), offset };
    init.bytes = new Uint8Array(0);
    return init.name;
  }

  private closeChunk(): void {
    const sp = this.spill!;
    if (sp.parts.length === 0) return;
    const bytes = new Uint8Array(sp.size); // padding stays zero: deterministic
    for (const part of sp.parts) bytes.set(part.bytes, part.offset);
    sp.closed.push({ location: sp.location(sp.index), bytes });
    sp.index++;
    sp.size = 0;
    sp.parts = [];
  }

  /**
   * From now on, large initializers go straight into external data chunks, which the caller
   * takes with `takeChunks()` as they fill: a graph bigger than memory (all decoder layers
   * of a 7B model) is built holding at most about two chunks. `serialize()` then closes the
   * last chunk and writes only the references.
   */
  spillTo(opts: SpillOptions): void {
    if (this.spill) throw new GraphBuildError(this.name, 'spillTo called twice');
    this.spill = { minBytes: 1024, align: 4096, ...opts, index: 0, size: 0, parts: [], closed: [] };
  }

  /** Data chunks closed since the last call (spilling graphs only). */
  takeChunks(): DataChunk[] {
    const sp = this.spill;
    if (!sp) return [];
    const out = sp.closed;
    sp.closed = [];
    return out;
  }

  f32(name: string, data: Float32Array, dims: number[]): string {
    return this.addInit(name, DataType.FLOAT, dims, bytesOf(data));
  }
  f16(name: string, data: Uint16Array, dims: number[]): string {
    return this.addInit(name, DataType.FLOAT16, dims, bytesOf(data));
  }
  i64(name: string, data: BigInt64Array | number[], dims: number[]): string {
    const arr = data instanceof BigInt64Array ? data : BigInt64Array.from(data.map((v) => BigInt(v)));
    return this.addInit(name, DataType.INT64, dims, bytesOf(arr));
  }
  i32(name: string, data: number[], dims: number[]): string {
    return this.addInit(name, DataType.INT32, dims, bytesOf(Int32Array.from(data)));
  }
  u8(name: string, data: Uint8Array, dims: number[]): string {
    return this.addInit(name, DataType.UINT8, dims, data);
  }

  /** A shared int64 constant (1-D, or a scalar with `scalar`), deduplicated by value. */
  constI64(values: number[], scalar = false): string {
    return this.constInt('i64', values, scalar);
  }

  /** A shared int32 constant (1-D, or a scalar with `scalar`), deduplicated by value. */
  constI32(values: number[], scalar = false): string {
    return this.constInt('i32', values, scalar);
  }

  private constInt(kind: 'i64' | 'i32', values: number[], scalar: boolean): string {
    const key = `${kind}:${scalar ? 's' : 'v'}:${values.join(',')}`;
    let name = this.constCache.get(key);
    if (!name) {
      name = `const_${kind}_${this.constCache.size}`;
      this[kind](name, values, scalar ? [] : [values.length]);
      this.constCache.set(key, name);
    }
    return name;
  }

  /** A shared scalar constant of the activation type, deduplicated by value. */
  constScalar(value: number, elem: 'float32' | 'float16', toHalf: (x: Float32Array) => Uint16Array): string {
    const key = `${elem}:${value}`;
    let name = this.constCache.get(key);
    if (!name) {
      name = `const_${elem}_${this.constCache.size}`;
      const f = new Float32Array([value]);
      if (elem === 'float32') this.f32(name, f, []);
      else this.f16(name, toHalf(f), []);
      this.constCache.set(key, name);
    }
    return name;
  }

  /** Adds a node; returns its output names (generated as `<hint>_<n>` unless given). */
  node(
    opType: string,
    inputs: string[],
    opts: { outputs?: number | string[]; attrs?: Record<string, Attr>; domain?: string; hint?: string } = {},
  ): string[] {
    const id = this.counter++;
    const hint = opts.hint ?? opType;
    const outs = Array.isArray(opts.outputs)
      ? opts.outputs
      : Array.from({ length: opts.outputs ?? 1 }, (_, k) => `${hint}_${id}${k ? `_${k}` : ''}`);
    const domain = opts.domain ?? '';
    if (domain === MS_DOMAIN) this.usesMs = true;
    const attrs = Object.entries(opts.attrs ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    this.nodes.push({ opType, domain, name: `${hint}_node_${id}`, inputs, outputs: outs, attrs });
    return outs;
  }

  /** A single-output node. */
  op(opType: string, inputs: string[], attrs?: Record<string, Attr>, hint?: string): string {
    return this.node(opType, inputs, { attrs, hint })[0];
  }

  /** Sum of initializer bytes (to decide whether a graph needs external data). */
  weightBytes(): number {
    let total = 0;
    for (const init of this.inits.values()) total += init.byteLength;
    return total;
  }

  serialize(external?: ExternalDataOptions): SerializedGraph {
    if (this.spill && external)
      throw new GraphBuildError(this.name, 'a spilling graph writes its data through takeChunks()');
    if (this.spill) this.closeChunk();
    const minBytes = external?.minBytes ?? 1024;
    const align = external?.align ?? 4096;
    const ordered = [...this.inits.values()]; // insertion order: stable across runs
    // Place external tensors first so the data file can be allocated once.
    const offsets = new Map<string, number>();
    let dataSize = 0;
    if (external) {
      for (const init of ordered) {
        if (init.bytes.byteLength < minBytes) continue;
        dataSize = Math.ceil(dataSize / align) * align;
        offsets.set(init.name, dataSize);
        dataSize += init.bytes.byteLength;
      }
    }
    let data: Uint8Array | undefined;
    if (offsets.size > 0) {
      data = new Uint8Array(dataSize); // padding stays zero: deterministic
      for (const init of ordered) {
        const off = offsets.get(init.name);
        if (off !== undefined) data.set(init.bytes, off);
      }
    }
    const tensor = (init: Initializer) => {
      if (init.spilled) {
        return {
          name: init.name,
          dims: init.dims,
          dataType: init.dataType,
          dataLocation: 1, // EXTERNAL
          externalData: [
            { key: 'location', value: init.spilled.location },
            { key: 'offset', value: String(init.spilled.offset) },
            { key: 'length', value: String(init.byteLength) },
          ],
        };
      }
      const off = offsets.get(init.name);
      if (off === undefined) return { name: init.name, dims: init.dims, dataType: init.dataType, rawData: init.bytes };
      return {
        name: init.name,
        dims: init.dims,
        dataType: init.dataType,
        dataLocation: 1, // EXTERNAL
        externalData: [
          { key: 'location', value: external!.location },
          { key: 'offset', value: String(off) },
          { key: 'length', value: String(init.bytes.byteLength) },
        ],
      };
    };
    const valueInfo = (v: ValueInfo) => ({
      name: v.name,
      type: {
        tensorType: {
          elemType: elemCode[v.elem],
          shape: { dim: v.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
        },
      },
    });
    const attrProto = ([name, a]: [string, Attr]) => {
      switch (a.kind) {
        case 'int':
          return { name, type: AttributeType.INT, i: a.value };
        case 'float':
          return { name, type: AttributeType.FLOAT, f: a.value };
        case 'ints':
          return { name, type: AttributeType.INTS, ints: a.value };
        case 'floats':
          return { name, type: AttributeType.FLOATS, floats: a.value };
        case 'string':
          return { name, type: AttributeType.STRING, s: new TextEncoder().encode(a.value) };
      }
    };
    const opsetImport = [{ domain: '', version: this.opset }];
    if (this.usesMs) opsetImport.push({ domain: MS_DOMAIN, version: 1 });
    const model = {
      irVersion: 8,
      producerName: 'sparsevlm-web',
      producerVersion: '1',
      opsetImport,
      graph: {
        name: this.name,
        node: this.nodes.map((n) => ({
          input: n.inputs,
          output: n.outputs,
          name: n.name,
          opType: n.opType,
          domain: n.domain,
          attribute: n.attrs.map(attrProto),
        })),
        initializer: ordered.map(tensor),
        input: this.inputs.map(valueInfo),
        output: this.outputs.map(valueInfo),
      },
    };
    const bytes = ModelProto.encode(model).finish();
    // protobufjs hands back a Node Buffer in Node; give callers a plain Uint8Array everywhere.
    return { model: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), data };
  }
}
