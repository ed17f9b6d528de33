"""More machines: the same training on two processes (DistributedDataParallel). On one machine with
two GPUs or CPU cores: `deepfit train DATA --devices 2`; across machines: torchrun."""
import json
import subprocess
import sys
from pathlib import Path

from sklearn.datasets import load_digits

digits = load_digits(as_frame=True)
digits.frame.rename(columns={"target": "label"}).to_csv("digits.csv", index=False)
subprocess.run([sys.executable, "-m", "deepfit", "train", "digits.csv", "--devices", "2", "--out", "two",
                "--max-epochs", "10", "--quiet", "--overwrite"], check=True)
metrics = json.loads(Path("two/metrics.json").read_text())
print(f"{metrics['training']['processes']} processes ({metrics['training']['backend']}), "
      f"test accuracy {metrics['test']['accuracy']:.3f}")
print(f"{metrics['training']['batch_size']} rows a step, shared by both processes")
