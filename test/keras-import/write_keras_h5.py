"""Writes a Keras model HDF5 file exactly as Keras's HDF5 writer lays it out, from weights given as JSON.

No Keras is needed (or installable here): the layout is replicated with h5py and numpy.
  keras2: root attrs model_config (JSON), keras_version '2.12.0', backend; model_weights/layer_names
          (fixed-length bytes array); per layer a group with weight_names like 'lstm/lstm_cell/kernel:0'
          and the datasets at those paths.
  keras3: keras_version '3.3.3'; weight names are variable paths without ':0'
          ('sequential/lstm/lstm_cell/kernel'), groups written in sorted layer-name order, plus the
          'top_level_model_weights' group Keras 3 adds.
Attributes over the HDF5 header limit are split into NAME0, NAME1, ... as Keras does; the test can
force that with "chunk_attributes": true.

stdin: {"path", "layout", "model_config": {...}, "layers": [{"name", "cell"?, "weights": [{"name", "shape", "values"}]}],
        "chunk_attributes"?: bool, "dtype"?: "float32"|"float64"}
"""
import json
import sys

import h5py
import numpy as np


def save_attributes(group, name, data, chunk):
    data = np.asarray(data)
    if chunk and len(data) > 1:
        # Keras: split until every chunk fits; here two chunks are enough to exercise the reader.
        half = len(data) // 2
        group.attrs[name + "0"] = data[:half]
        group.attrs[name + "1"] = data[half:]
    else:
        group.attrs[name] = data


def main():
    spec = json.load(sys.stdin)
    keras3 = spec["layout"] == "keras3"
    dtype = spec.get("dtype", "float32")
    chunk = spec.get("chunk_attributes", False)
    with h5py.File(spec["path"], "w") as f:
        f.attrs["keras_version"] = b"3.3.3" if keras3 else b"2.12.0"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps(spec["model_config"]).encode("utf8")
        f.attrs["training_config"] = json.dumps({"loss": "mse", "optimizer_config": {"class_name": "Adam"}}).encode("utf8")
        weights = f.create_group("model_weights")
        save_attributes(weights, "layer_names", [layer["name"].encode("utf8") for layer in spec["layers"]], chunk)
        weights.attrs["backend"] = b"tensorflow"
        weights.attrs["keras_version"] = f.attrs["keras_version"]
        layers = sorted(spec["layers"], key=lambda l: l["name"]) if keras3 else spec["layers"]
        for layer in layers:
            g = weights.create_group(layer["name"])
            prefix = layer["name"] + "/" + (layer["cell"] + "/" if layer.get("cell") else "")
            names = [
                (("sequential/" + prefix + w["name"]) if keras3 else (prefix + w["name"] + ":0")).encode("utf8")
                for w in layer["weights"]
            ]
            save_attributes(g, "weight_names", names, False)
            for name, w in zip(names, layer["weights"]):
                value = np.asarray(w["values"], dtype=dtype).reshape(w["shape"])
                g.create_dataset(name.decode("utf8"), data=value)
        if keras3:
            top = weights.create_group("top_level_model_weights")
            save_attributes(top, "weight_names", [], False)


main()
