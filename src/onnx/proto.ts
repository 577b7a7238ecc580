/**
 * The subset of the ONNX protobuf schema the converter writes, as a protobufjs reflection
 * descriptor. Field numbers are those of the ONNX IR spec (onnx/onnx.proto, IR version 8);
 * only the messages and fields we emit are declared, so a reader of our files sees plain,
 * valid ONNX. `light` protobufjs has no .proto parser, which keeps the browser bundle small.
 */
import protobuf from 'protobufjs/light.js';

/** TensorProto.DataType values we use. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
} as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

/** AttributeProto.AttributeType values we use. */
export const AttributeType = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  FLOATS: 6,
  INTS: 7,
} as const;

const field = (type: string, id: number, rule?: 'repeated') => (rule ? { type, id, rule } : { type, id });

const descriptor = {
  nested: {
    onnx: {
      nested: {
        StringStringEntryProto: {
          fields: { key: field('string', 1), value: field('string', 2) },
        },
        OperatorSetIdProto: {
          fields: { domain: field('string', 1), version: field('int64', 2) },
        },
        TensorShapeProto: {
          fields: { dim: field('Dimension', 1, 'repeated') },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
              fields: { dimValue: field('int64', 1), dimParam: field('string', 2) },
            },
          },
        },
        TypeProto: {
          fields: { tensorType: field('Tensor', 1) },
          nested: {
            Tensor: {
              fields: { elemType: field('int32', 1), shape: field('TensorShapeProto', 2) },
            },
          },
        },
        ValueInfoProto: {
          fields: { name: field('string', 1), type: field('TypeProto', 2), docString: field('string', 3) },
        },
        TensorProto: {
          fields: {
            dims: field('int64', 1, 'repeated'),
            dataType: field('int32', 2),
            name: field('string', 8),
            rawData: field('bytes', 9),
            externalData: field('StringStringEntryProto', 13, 'repeated'),
            dataLocation: field('int32', 14),
          },
        },
        AttributeProto: {
          fields: {
            name: field('string', 1),
            f: field('float', 2),
            i: field('int64', 3),
            s: field('bytes', 4),
            t: field('TensorProto', 5),
            floats: field('float', 7, 'repeated'),
            ints: field('int64', 8, 'repeated'),
            type: field('int32', 20),
          },
        },
        NodeProto: {
          fields: {
            input: field('string', 1, 'repeated'),
            output: field('string', 2, 'repeated'),
            name: field('string', 3),
            opType: field('string', 4),
            attribute: field('AttributeProto', 5, 'repeated'),
            domain: field('string', 7),
          },
        },
        GraphProto: {
          fields: {
            node: field('NodeProto', 1, 'repeated'),
            name: field('string', 2),
            initializer: field('TensorProto', 5, 'repeated'),
            docString: field('string', 10),
            input: field('ValueInfoProto', 11, 'repeated'),
            output: field('ValueInfoProto', 12, 'repeated'),
          },
        },
        ModelProto: {
          fields: {
            irVersion: field('int64', 1),
            producerName: field('string', 2),
            producerVersion: field('string', 3),
            domain: field('string', 4),
            modelVersion: field('int64', 5),
            docString: field('string', 6),
            graph: field('GraphProto', 7),
            opsetImport: field('OperatorSetIdProto', 8, 'repeated'),
            metadataProps: field('StringStringEntryProto', 14, 'repeated'),
          },
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(descriptor);
export const ModelProto = root.lookupType('onnx.ModelProto');
