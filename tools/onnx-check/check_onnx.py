"""Checks nnsweep's exports with Debian's python3-onnx: every ONNX file passes onnx.checker (with
shape inference), and every safetensors weights file, read here with NumPy alone (an
implementation of the format independent of nnsweep's), holds exactly the ONNX model's
initializers.

    /usr/bin/python3 check_onnx.py REFDIR [FILE.onnx...]
"""
import json
import struct
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper


def read_safetensors(path):
    b = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", b[:8])
    header = json.loads(b[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    data = b[8 + n :]
    tensors = {}
    for name, e in header.items():
        assert e["dtype"] == "F32", (path, name, e["dtype"])
        lo, hi = e["data_offsets"]
        tensors[name] = np.frombuffer(data[lo:hi], dtype="<f4").reshape(e["shape"])
    return meta, tensors


def main(ref):
    cases = json.loads((Path(ref) / "cases.json").read_text())["cases"]
    for c in cases:
        path = Path(ref) / c["onnx"]
        model = onnx.load(str(path))
        onnx.checker.check_model(model, full_check=True)
        key = c["onnx"].removesuffix(".onnx")
        meta, tensors = read_safetensors(c["weights"])
        assert meta["key"] == key, (meta, key)
        inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        # A batch_norm without scale or center has no γ or β weights: the export gives its
        # BatchNormalization a constant γ of ones or β of zeros, the only initializers not stored.
        for name in sorted(set(inits) - set(tensors)):
            const = {"gamma": 1, "beta": 0}.get(name.rsplit("/", 1)[-1])
            assert const is not None and np.all(inits[name] == const), (name, inits[name])
            del inits[name]
        assert sorted(inits) == sorted(tensors), (sorted(inits), sorted(tensors))
        for name, w in tensors.items():
            assert np.array_equal(w.reshape(inits[name].shape), inits[name]), name
        ops = sorted({n.op_type for n in model.graph.node})
        print(f"ok   {c['name']}: onnx.checker {onnx.__version__} accepts {path.name} "
              f"(opset {model.opset_import[0].version}; {', '.join(ops)}); its safetensors weights equal its initializers")
    for extra in sys.argv[2:]:
        onnx.checker.check_model(onnx.load(extra), full_check=True)
        print(f"ok   {extra}: onnx.checker accepts it")


if __name__ == "__main__":
    main(sys.argv[1])
