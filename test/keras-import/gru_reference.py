"""Keras's GRU forward pass in numpy (the equations of keras.layers.GRU), an independent reference
for the importer's GRU layer, since tfjs has no reset_after=True GRU to compare with.

stdin: {"layers": [{"kind": "GRU", "units", "reset_after", "return_sequences", "kernel", "recurrent_kernel", "bias"}
                   | {"kind": "Dense", "kernel", "bias"}], "x": [batch][steps][features]}
stdout: JSON list of outputs, one row per sample.
"""
import json
import sys

import numpy as np


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def gru(layer, x):
    u = layer["units"]
    kernel = np.asarray(layer["kernel"])
    recurrent = np.asarray(layer["recurrent_kernel"])
    bias = np.asarray(layer["bias"])
    input_bias, recurrent_bias = (bias[0], bias[1]) if layer["reset_after"] else (bias, np.zeros(3 * u))
    h = np.zeros((x.shape[0], u))
    outputs = []
    for t in range(x.shape[1]):
        xw = x[:, t, :] @ kernel + input_bias
        xz, xr, xh = xw[:, :u], xw[:, u:2 * u], xw[:, 2 * u:]
        if layer["reset_after"]:
            inner = h @ recurrent + recurrent_bias
            z = sigmoid(xz + inner[:, :u])
            r = sigmoid(xr + inner[:, u:2 * u])
            hh = np.tanh(xh + r * inner[:, 2 * u:])
        else:
            z = sigmoid(xz + h @ recurrent[:, :u])
            r = sigmoid(xr + h @ recurrent[:, u:2 * u])
            hh = np.tanh(xh + (r * h) @ recurrent[:, 2 * u:])
        h = z * h + (1 - z) * hh
        outputs.append(h)
    return np.stack(outputs, axis=1) if layer["return_sequences"] else h


spec = json.load(sys.stdin)
value = np.asarray(spec["x"], dtype="float64")
for layer in spec["layers"]:
    if layer["kind"] == "GRU":
        value = gru(layer, value)
    else:
        value = value @ np.asarray(layer["kernel"]) + np.asarray(layer["bias"])
json.dump(value.reshape(value.shape[0], -1).tolist(), sys.stdout)
