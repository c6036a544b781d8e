import {
  Bool,
  Field,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  List,
  RecordBatch,
  Schema,
  Struct,
  TimestampMicrosecond,
  Utf8,
  makeBuilder,
  makeData,
  type DataType,
  type Data,
} from 'apache-arrow';
import { DuckDBTypeId, type DuckDBDataChunk, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';

/**
 * DuckDB result chunks → Arrow record batches. `@duckdb/node-api` has no Arrow export, so the
 * columns are rebuilt: strings and JSON as Utf8, integers at their width, BIGINT as Int64,
 * TIMESTAMPTZ as Timestamp(µs, UTC) from DuckDB's own microseconds (exact), VARCHAR[] as
 * List<Utf8>. Types outside what the analytics tables use are refused rather than guessed.
 */

interface Column {
  name: string;
  type: DataType;
  build(values: DuckDBValue[]): Data;
}

function builderColumn(name: string, type: DataType, convert: (value: DuckDBValue) => unknown): Column {
  return {
    name,
    type,
    build(values) {
      const builder = makeBuilder({ type, nullValues: [null, undefined] });
      for (const value of values) builder.append(value === null ? null : convert(value));
      return builder.finish().flush();
    },
  };
}

function timestampColumn(name: string): Column {
  const type = new TimestampMicrosecond('UTC');
  return {
    name,
    type,
    build(values) {
      const micros = new BigInt64Array(values.length);
      const valid = new Uint8Array((values.length + 7) >> 3);
      let nullCount = 0;
      values.forEach((value, index) => {
        if (value === null) {
          nullCount++;
          return;
        }
        micros[index] = (value as { micros: bigint }).micros;
        valid[index >> 3]! |= 1 << (index & 7);
      });
      return makeData({ type, length: values.length, nullCount, nullBitmap: nullCount > 0 ? valid : null, data: micros });
    },
  };
}

function columnFor(name: string, type: DuckDBType): Column {
  switch (type.typeId) {
    case DuckDBTypeId.VARCHAR:
      return builderColumn(name, new Utf8(), (value) => value);
    case DuckDBTypeId.BOOLEAN:
      return builderColumn(name, new Bool(), (value) => value);
    case DuckDBTypeId.TINYINT:
      return builderColumn(name, new Int8(), (value) => value);
    case DuckDBTypeId.SMALLINT:
      return builderColumn(name, new Int16(), (value) => value);
    case DuckDBTypeId.INTEGER:
      return builderColumn(name, new Int32(), (value) => value);
    case DuckDBTypeId.BIGINT:
      return builderColumn(name, new Int64(), (value) => value);
    case DuckDBTypeId.DOUBLE:
      return builderColumn(name, new Float64(), (value) => value);
    case DuckDBTypeId.TIMESTAMP_TZ:
      return timestampColumn(name);
    case DuckDBTypeId.LIST:
      if (type.toString() === 'VARCHAR[]') {
        return builderColumn(name, new List(new Field('item', new Utf8(), true)), (value) => (value as { items: DuckDBValue[] }).items);
      }
      break;
    default:
      break;
  }
  throw new Error(`column ${name}: DuckDB type ${type.toString()} has no Arrow mapping here`);
}

export interface ArrowBatcher {
  schema: Schema;
  /** One record batch from one or more DuckDB chunks (their columns, concatenated). */
  batch(chunks: DuckDBDataChunk[]): RecordBatch;
}

export function createArrowBatcher(names: string[], types: DuckDBType[]): ArrowBatcher {
  const columns = names.map((name, index) => columnFor(name, types[index]!));
  const schema = new Schema(columns.map((column) => new Field(column.name, column.type, true)));
  return {
    schema,
    batch(chunks) {
      const length = chunks.reduce((sum, chunk) => sum + chunk.rowCount, 0);
      const children = columns.map((column, index) => {
        const values: DuckDBValue[] = [];
        for (const chunk of chunks) for (const value of chunk.getColumnValues(index)) values.push(value);
        return column.build(values);
      });
      const data = makeData({ type: new Struct(schema.fields), length, nullCount: 0, children });
      return new RecordBatch(schema, data);
    },
  };
}
