"""Test helper (not product code): loads a registered model with the real MLflow Python client and
scores rows, so test/tracking/mlflow.real.test.ts can check that TradeML's registered versions are
loadable MLflow models.

Usage: python pyfunc_score.py MODEL_URI ROWS_JSON  (MLFLOW_TRACKING_URI names the server)
Prints one JSON object: {"outputs": {name: nested list}, "signature": {"inputs": ..., "outputs": ...},
"flavors": [...]}.
"""
import json
import sys

import mlflow.pyfunc
import numpy as np

uri, rows = sys.argv[1], json.loads(sys.argv[2])
model = mlflow.pyfunc.load_model(uri)
pred = model.predict(np.asarray(rows, dtype=np.float32))
sig = model.metadata.signature
print(json.dumps({
    "outputs": {name: np.asarray(v).tolist() for name, v in pred.items()},
    "signature": {"inputs": sig.inputs.to_dict(), "outputs": sig.outputs.to_dict()} if sig else None,
    "flavors": sorted(model.metadata.flavors.keys()),
}))
