import type * as tf from '@tensorflow/tfjs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CorruptModelError } from '../errors.js';
import { isNotFound, writeFileAtomic } from '../fs/atomic-file.js';
import { tfjs } from '../ml/backend.js';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/** Called with each file's bytes before they are parsed; throws to refuse the model. */
export type VerifyFile = (fileName: string, bytes: Uint8Array) => void;

/**
 * A tf.io handler that saves and loads a layers model as `model.json` + `weights.bin` in one
 * folder, with plain `node:fs` (tfjs-node's `file://` handler is not available without its native library).
 * Both files are written to temporary names and renamed into place.
 */
export function fileSystemIO(directory: string, verify?: VerifyFile): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer || artifacts.modelTopology === undefined) {
        throw new Error('fileSystemIO saves layers models only (JSON topology)');
      }
      // Already imported by whoever built the model being saved.
      const tf = await tfjs();
      const weightData = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: artifacts.convertedBy ?? null,
        ...(artifacts.trainingConfig === undefined ? {} : { trainingConfig: artifacts.trainingConfig }),
      };
      await writeFileAtomic(path.join(directory, WEIGHTS_BIN), new Uint8Array(weightData));
      await writeFileAtomic(path.join(directory, MODEL_JSON), JSON.stringify(modelJson));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: Buffer.byteLength(JSON.stringify(artifacts.modelTopology)),
          weightSpecsBytes: Buffer.byteLength(JSON.stringify(artifacts.weightSpecs ?? [])),
          weightDataBytes: weightData.byteLength,
        },
      };
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      const modelBytes = await readVerified(directory, MODEL_JSON, verify);
      const weightBytes = await readVerified(directory, WEIGHTS_BIN, verify);
      let modelJson: tf.io.ModelJSON;
      try {
        modelJson = JSON.parse(Buffer.from(modelBytes).toString('utf8')) as tf.io.ModelJSON;
      } catch (error) {
        throw new Error(`${path.join(directory, MODEL_JSON)} is not valid JSON: ${(error as Error).message}`);
      }
      const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights);
      // Copy into a fresh ArrayBuffer: a Buffer's backing store may be shared and larger than the file.
      const weightData = weightBytes.buffer.slice(weightBytes.byteOffset, weightBytes.byteOffset + weightBytes.byteLength) as ArrayBuffer;
      return (await tfjs()).io.getModelArtifactsForJSONSync(modelJson, weightSpecs, weightData);
    },
  };
}

async function readVerified(directory: string, fileName: string, verify: VerifyFile | undefined): Promise<Uint8Array> {
  const file = path.join(directory, fileName);
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(file);
  } catch (error) {
    if (isNotFound(error)) throw new CorruptModelError(`${file} is missing`, { file });
    throw error;
  }
  verify?.(fileName, bytes);
  return bytes;
}
