import { LegacyFileError } from '../errors.js';
import { Hdf5File } from './hdf5.js';
import { parseModelConfig, type KerasModelSpec } from './keras-config.js';
import { expectedWeights, type ExpectedWeight } from './network.js';

/**
 * A Keras model saved as HDF5 (`model.save('x.h5')`): the root attribute `model_config` (JSON),
 * `keras_version`, and the group `model_weights` whose `layer_names` attribute lists one group per
 * layer, each with a `weight_names` attribute naming its datasets in order. Keras 2 names weights
 * `lstm/lstm_cell/kernel:0`; Keras 3's legacy-H5 writer drops the `:0`. Both are read the same way.
 * Every dataset's shape and type is checked against what the config implies before it is read.
 */
export interface KerasFile {
  readonly spec: KerasModelSpec;
  readonly expected: readonly (readonly ExpectedWeight[])[];
  /** Weights per layer, in expected order. */
  readonly weights: readonly (readonly Float32Array[])[];
  readonly kerasVersion: string;
  readonly layout: 'keras2' | 'keras3-legacy-h5';
}

const WEIGHTS_GROUP = 'model_weights';

/** `lstm/lstm_cell/kernel:0` → `kernel`. */
function shortName(weightName: string): string {
  return (weightName.split('/').at(-1) ?? weightName).replace(/:\d+$/, '');
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join('') : value;
}

export async function readKerasFile(path: string): Promise<KerasFile> {
  const h5 = await Hdf5File.open(path);
  const file = h5.name;
  const refuse = (message: string): never => {
    throw new LegacyFileError(`${file}: ${message}`, { file });
  };
  try {
    const configJson = single(h5.stringAttribute('/', 'model_config'));
    if (configJson === undefined) refuse('no model_config attribute: not a Keras model file (a weights-only file cannot be imported without its architecture)');
    const kerasVersion = single(h5.stringAttribute('/', 'keras_version')) ?? 'unknown';
    const spec = parseModelConfig(file, configJson as string, kerasVersion);
    const { weights: expected } = expectedWeights(file, spec);
    if (!h5.isGroup(WEIGHTS_GROUP)) refuse(`no ${WEIGHTS_GROUP} group`);
    const listed = h5.stringAttribute(WEIGHTS_GROUP, 'layer_names');
    const layerNames = Array.isArray(listed) ? listed : listed === undefined ? [] : [listed];
    const byName = new Map(spec.layers.map((layer, i) => [layer.name, i]));
    for (const name of layerNames) {
      const index = byName.get(name);
      if (index === undefined && h5.stringAttribute(`${WEIGHTS_GROUP}/${name}`, 'weight_names')?.length) {
        refuse(`${WEIGHTS_GROUP} holds weights for layer ${name}, which is not in model_config`);
      }
    }
    let sawColonZero = false;
    const weights = spec.layers.map((layer, i) => {
      const wanted = expected[i] as readonly ExpectedWeight[];
      if (wanted.length === 0) return [];
      if (!layerNames.includes(layer.name)) refuse(`${WEIGHTS_GROUP} has no weights for layer ${layer.name}`);
      const groupPath = `${WEIGHTS_GROUP}/${layer.name}`;
      const namesAttr = h5.stringAttribute(groupPath, 'weight_names');
      const names = Array.isArray(namesAttr) ? namesAttr : namesAttr === undefined ? [] : [namesAttr];
      const got = names.map(shortName);
      if (got.join(',') !== wanted.map((w) => w.name).join(',')) {
        refuse(`layer ${layer.name} (${layer.kind}) has weights [${got.join(', ')}], its config needs [${wanted.map((w) => w.name).join(', ')}]`);
      }
      if (names.some((n) => /:\d+$/.test(n))) sawColonZero = true;
      // Check every shape first, then read: nothing is allocated for a file that does not fit its config.
      names.forEach((name, k) => {
        const want = wanted[k] as ExpectedWeight;
        const info = h5.datasetInfo(`${groupPath}/${name}`) ?? refuse(`weight ${name} of layer ${layer.name} is missing`);
        if (info.kind !== 'float') refuse(`weight ${name} of layer ${layer.name} is not floating-point`);
        if (info.shape.join(',') !== want.shape.join(',')) {
          refuse(`weight ${name} of layer ${layer.name} has shape [${info.shape.join(', ')}], its config needs [${want.shape.join(', ')}]`);
        }
      });
      return names.map((name) => {
        const values = h5.readFloats(`${groupPath}/${name}`);
        if (!values.every(Number.isFinite)) refuse(`weight ${name} of layer ${layer.name} holds NaN or infinite values`);
        return values;
      });
    });
    const layout = kerasVersion.startsWith('3') || (!sawColonZero && !kerasVersion.startsWith('2')) ? 'keras3-legacy-h5' : 'keras2';
    return { spec, expected, weights, kerasVersion, layout };
  } finally {
    h5.close();
  }
}
