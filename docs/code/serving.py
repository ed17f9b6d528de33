"""Serving and exporting: the model over HTTP (as `deepfit serve MODEL` runs it), and as an ONNX file
that onnxruntime answers the same."""
import threading
import time

import httpx
import numpy as np
import onnxruntime
import uvicorn
from sklearn.datasets import load_digits

from deepfit import DeepClassifier
from deepfit.export import export_model
from deepfit.serving import create_app

digits = load_digits()
model = DeepClassifier(random_state=0, max_epochs=20).fit(digits.data[:1000], digits.target[:1000])
model.save("digits.deepfit")

server = uvicorn.Server(uvicorn.Config(create_app("digits.deepfit"), host="127.0.0.1", port=0, log_level="warning"))
thread = threading.Thread(target=server.run)
thread.start()
while not server.started:
    time.sleep(0.05)
port = server.servers[0].sockets[0].getsockname()[1]                # port 0: any free one
row = {str(i): float(v) for i, v in enumerate(digits.data[1500])}   # one row, its columns by name
answer = httpx.post(f"http://127.0.0.1:{port}/predict", json={"rows": [row]}).json()
print(f"the server says {answer['predictions'][0]['label']}, as the model in Python does: "
      f"{model.predict(digits.data[1500:1501])[0]} (the digit is a {digits.target[1500]})")
server.should_exit = True
thread.join()                                                       # let it stop before Python does

result = export_model(model, "digits.onnx")                    # `deepfit export MODEL -o digits.onnx`
session = onnxruntime.InferenceSession("digits.onnx", providers=["CPUExecutionProvider"])
onnx = session.run(["probabilities"], {result.input_name: digits.data[1500:1510].astype(np.float32)})[0]
print(f"ONNX and deepfit differ by at most {np.abs(onnx - model.predict_proba(digits.data[1500:1510])).max():.1e}")
