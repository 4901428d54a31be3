"""Fits a real scikit-learn scaler on the given values and saves it the way the original system did.

stdin: {"path", "kind": "minmax"|"standard", "format": "pickle"|"joblib"|"joblib-zlib", "protocol"?: 2..5,
        "fit": [[...], ...] (rows x columns), "columns"?: [...] (fit on a DataFrame-like with names),
        "target_fit"?: [[...]] (then a {features, target} dict is saved), "probe": [[...]]}
stdout: JSON {"transform": scaler.transform(probe) (features scaler), "target_transform"?: ...}
A JSON list of such specs on stdin writes each, and prints the list of their results.
"""
import json
import pickle
import sys

import joblib
import numpy as np
from sklearn.preprocessing import MinMaxScaler, StandardScaler


def fitted(kind, rows, columns):
    scaler = MinMaxScaler() if kind == "minmax" else StandardScaler()
    data = np.asarray(rows, dtype="float64")
    if columns:
        # feature_names_in_ as a pandas fit sets it (an object array of str), without needing pandas.
        scaler.fit(data)
        scaler.feature_names_in_ = np.asarray(columns, dtype=object)
    else:
        scaler.fit(data)
    return scaler


def write(spec):
    features = fitted(spec["kind"], spec["fit"], spec.get("columns"))
    obj = features
    result = {"transform": features.transform(np.asarray(spec["probe"], dtype="float64")).tolist()}
    if "target_fit" in spec:
        target = fitted(spec["kind"], spec["target_fit"], None)
        obj = {"features": features, "target": target}
        result["target_transform"] = target.transform(np.asarray(spec["target_probe"], dtype="float64")).tolist()
    fmt = spec["format"]
    if fmt == "pickle":
        with open(spec["path"], "wb") as f:
            pickle.dump(obj, f, protocol=spec.get("protocol", pickle.DEFAULT_PROTOCOL))
    elif fmt == "joblib":
        joblib.dump(obj, spec["path"])
    else:
        joblib.dump(obj, spec["path"], compress=("zlib", 3))
    return result


def main():
    spec = json.load(sys.stdin)
    # A list of specs is written by one interpreter (a list of results): each start, importing scikit-learn, costs a second.
    json.dump([write(s) for s in spec] if isinstance(spec, list) else write(spec), sys.stdout)


main()
