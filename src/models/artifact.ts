import type { DenseSpec, SparseSlot } from './encoding.ts';
import type { ModelConfig } from './model.types.ts';
import type { CompiledWeights } from './scorer.ts';
import type { TargetSpec } from './targets.ts';

/**
 * A model artifact: the bytes the registry stores. Self-describing, so it scores without its
 * metadata: a JSON header (feature set, target, config, standardisation, decision rule, n-gram
 * vocabulary for drivers) followed by the weights as little-endian 32-bit arrays.
 *
 *   "LWOM" | u32 header length | header JSON (UTF-8) | zero padding to 4 | sections…
 */

export const ARTIFACT_FORMAT = 'loopwise-outcome-model';
export const ARTIFACT_VERSION = 1;
const MAGIC = [0x4c, 0x57, 0x4f, 0x4d]; // "LWOM"

export interface ArtifactContent {
  featureSet: string;
  target: TargetSpec;
  config: ModelConfig;
  slots: SparseSlot[];
  dense: DenseSpec;
  /** Added to log-probabilities before the argmax that decides a class. */
  decisionBias: number[];
  /** Registry n-gram bucket → the words that hash there (drivers in words). */
  vocabulary: Array<[number, string]>;
  weights: CompiledWeights;
}

interface Header extends Omit<ArtifactContent, 'weights'> {
  format: typeof ARTIFACT_FORMAT;
  formatVersion: number;
  sections: Array<{ name: SectionName; type: 'f32' | 'i32'; length: number }>;
}

type SectionName = 'denseKernel' | 'denseBias' | 'sparseBuckets' | 'sparseRows' | 'outKernel' | 'outBias';

export function encodeArtifact(content: ArtifactContent): Uint8Array {
  const { weights, ...rest } = content;
  const arrays: Array<[SectionName, Float32Array | Int32Array]> = [
    ['denseKernel', weights.denseKernel],
    ['denseBias', weights.denseBias],
    ['sparseBuckets', weights.sparse.buckets],
    ['sparseRows', weights.sparse.rows],
    ...(weights.outKernel ? ([['outKernel', weights.outKernel], ['outBias', weights.outBias!]] as Array<[SectionName, Float32Array]>) : []),
  ];
  const header: Header = {
    format: ARTIFACT_FORMAT,
    formatVersion: ARTIFACT_VERSION,
    ...rest,
    sections: arrays.map(([name, array]) => ({ name, type: array instanceof Int32Array ? 'i32' : 'f32', length: array.length })),
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerEnd = 8 + json.length;
  const dataStart = Math.ceil(headerEnd / 4) * 4;
  const total = dataStart + arrays.reduce((sum, [, array]) => sum + array.length * 4, 0);
  const bytes = new Uint8Array(total);
  bytes.set(MAGIC, 0);
  const view = new DataView(bytes.buffer);
  view.setUint32(4, json.length, true);
  bytes.set(json, 8);
  let offset = dataStart;
  for (const [, array] of arrays) {
    for (let i = 0; i < array.length; i++) {
      if (array instanceof Int32Array) view.setInt32(offset + i * 4, array[i]!, true);
      else view.setFloat32(offset + i * 4, array[i]!, true);
    }
    offset += array.length * 4;
  }
  return bytes;
}

export class ArtifactFormatError extends Error {
  override readonly name = 'ArtifactFormatError';
}

export function decodeArtifact(bytes: Uint8Array): ArtifactContent {
  if (bytes.length < 8 || MAGIC.some((byte, i) => bytes[i] !== byte)) throw new ArtifactFormatError('not a Loopwise outcome-model artifact');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(4, true);
  if (8 + headerLength > bytes.length) throw new ArtifactFormatError('artifact header is truncated');
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Header;
  } catch {
    throw new ArtifactFormatError('artifact header is not JSON');
  }
  if (header.format !== ARTIFACT_FORMAT) throw new ArtifactFormatError(`artifact format ${String(header.format)} is not ${ARTIFACT_FORMAT}`);
  if (header.formatVersion !== ARTIFACT_VERSION) throw new ArtifactFormatError(`artifact format version ${header.formatVersion} is not ${ARTIFACT_VERSION}`);
  let offset = Math.ceil((8 + headerLength) / 4) * 4;
  const sections = new Map<SectionName, Float32Array | Int32Array>();
  for (const section of header.sections) {
    if (offset + section.length * 4 > bytes.length) throw new ArtifactFormatError(`artifact section ${section.name} is truncated`);
    const array = section.type === 'i32' ? new Int32Array(section.length) : new Float32Array(section.length);
    for (let i = 0; i < section.length; i++) array[i] = section.type === 'i32' ? view.getInt32(offset + i * 4, true) : view.getFloat32(offset + i * 4, true);
    sections.set(section.name, array);
    offset += section.length * 4;
  }
  const f32 = (name: SectionName) => {
    const array = sections.get(name);
    if (!(array instanceof Float32Array)) throw new ArtifactFormatError(`artifact has no ${name}`);
    return array;
  };
  const buckets = sections.get('sparseBuckets');
  if (!(buckets instanceof Int32Array)) throw new ArtifactFormatError('artifact has no sparseBuckets');
  const { format: _format, formatVersion: _version, sections: _sections, ...rest } = header;
  return {
    ...rest,
    weights: {
      denseKernel: f32('denseKernel'),
      denseBias: f32('denseBias'),
      sparse: { buckets, rows: f32('sparseRows') },
      ...(sections.has('outKernel') ? { outKernel: f32('outKernel'), outBias: f32('outBias') } : {}),
    },
  };
}
