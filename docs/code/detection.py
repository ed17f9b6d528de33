"""Finding faces: a classifier of small windows (face or not), slid over a whole picture."""
import numpy as np

from deepfit import SlidingWindowDetector
from deepfit.data.synthetic import clutter, face_patches, face_scene

rng = np.random.default_rng(0)
faces = face_patches(200, 24, seed=1)                     # 24x24 face patches
background = [clutter(80, 100, rng) for _ in range(10)]   # pictures with no face: where negatives come from
detector = SlidingWindowDetector(random_state=0, max_epochs=5).fit(faces, background)
scene, truth = face_scene(120, 160, np.random.default_rng(5), 2, window=24)
found = detector.detect([scene])[0]
print(f"{len(truth)} faces drawn, {len(found)} found; best box {found[0] if found else None}")
