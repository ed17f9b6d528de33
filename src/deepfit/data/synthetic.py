"""Small picture data sets drawn on the spot, for the examples and the tests (nothing is downloaded).

- `letters`: the 26 capital letters rendered in a scalable font, moved, scaled and turned a little;
  `letter_features` computes the 16 numbers per letter of the classic UCI "letter recognition" table
  from the same pictures, so letters can be learned as pictures or as a table.
- `faces`: made-up people, each with their own face shape, eyes, nose, mouth and hair, seen with
  small changes of position, size, light and expression: face recognition.
- `elephants`: colour scenes with or without an elephant (facing left or right): the binary
  "elephant or not" project.

Each returns (uint8 pictures of shape (N, H, W) or (N, H, W, 3), labels).
"""

from __future__ import annotations

import string

import numpy as np

SCALE = 4  # draw at 4x, then shrink: smooth edges


def letters(per_class: int = 40, size: int = 16, seed: int = 0):
    """Capital letters A-Z as greyscale pictures, each drawn with a random shift, size and tilt."""
    from PIL import Image, ImageDraw, ImageFont

    rng = np.random.default_rng(seed)
    pictures, labels = [], []
    big = size * SCALE
    for letter in string.ascii_uppercase:
        for _ in range(per_class):
            font = ImageFont.load_default(size=int(big * rng.uniform(0.6, 0.85)))
            canvas = Image.new("L", (big, big), 0)
            draw = ImageDraw.Draw(canvas)
            left, top, right, bottom = draw.textbbox((0, 0), letter, font=font)
            x = (big - (right - left)) / 2 - left + rng.uniform(-0.08, 0.08) * big
            y = (big - (bottom - top)) / 2 - top + rng.uniform(-0.08, 0.08) * big
            draw.text((x, y), letter, fill=255, font=font, stroke_width=int(rng.integers(0, 3)), stroke_fill=255)
            canvas = canvas.rotate(rng.uniform(-12, 12), resample=Image.Resampling.BILINEAR)
            pictures.append(np.asarray(canvas.resize((size, size), Image.Resampling.BOX)))
            labels.append(letter)
    return np.stack(pictures), np.array(labels, dtype=object)


def letter_features(pictures: np.ndarray) -> np.ndarray:
    """The 16 features of the UCI letter table, computed from (N, H, W) pictures, vectorised.

    Box position and size, ink count, mean position, variances and correlations of the ink, and
    mean edge counts with their correlations -- each scaled to 0..15 as in the original.
    """
    ink = pictures.astype(np.float64) / 255.0
    n, height, width = ink.shape
    rows, cols = np.arange(height)[None, :, None], np.arange(width)[None, None, :]
    mass = ink.sum(axis=(1, 2)) + 1e-9
    on_rows, on_cols = ink.max(axis=2) > 0.3, ink.max(axis=1) > 0.3
    top = np.argmax(on_rows, axis=1)
    bottom = height - 1 - np.argmax(on_rows[:, ::-1], axis=1)
    left = np.argmax(on_cols, axis=1)
    right = width - 1 - np.argmax(on_cols[:, ::-1], axis=1)
    box_w, box_h = right - left + 1, bottom - top + 1
    x_mean = (ink * cols).sum(axis=(1, 2)) / mass
    y_mean = (ink * rows).sum(axis=(1, 2)) / mass
    dx = (cols - ((left + right) / 2)[:, None, None]) / np.maximum(box_w, 1)[:, None, None]
    dy = (rows - ((top + bottom) / 2)[:, None, None]) / np.maximum(box_h, 1)[:, None, None]

    def moment(values):
        return (ink * values).sum(axis=(1, 2)) / mass

    edges_x = np.clip(np.diff(ink, axis=2), 0, None)  # rising edges scanning left to right
    edges_y = np.clip(np.diff(ink, axis=1), 0, None)  # and top to bottom
    features = np.column_stack([
        (left + right) / 2, (top + bottom) / 2, box_w, box_h, mass,
        x_mean - (left + right) / 2, y_mean - (top + bottom) / 2,
        moment(dx ** 2), moment(dy ** 2), moment(dx * dy), moment(dx ** 2 * dy), moment(dx * dy ** 2),
        edges_x.sum(axis=(1, 2)) / np.maximum(box_h, 1), (edges_x * rows).sum(axis=(1, 2)) / mass,
        edges_y.sum(axis=(1, 2)) / np.maximum(box_w, 1), (edges_y * cols).sum(axis=(1, 2)) / mass,
    ])
    low, high = features.min(axis=0), features.max(axis=0)
    return np.round(15 * (features - low) / np.where(high > low, high - low, 1)).astype(np.int64)


def faces(people: int = 8, per_person: int = 20, size: int = 32, seed: int = 0):
    """Greyscale faces of made-up people: who they are is in the shapes; the rest varies per picture."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    big = size * SCALE
    pictures, labels = [], []
    for person in range(people):
        who = dict(face_w=rng.uniform(0.28, 0.40), face_h=rng.uniform(0.36, 0.46), eye_gap=rng.uniform(0.10, 0.18),
                   eye_y=rng.uniform(-0.12, -0.02), eye_r=rng.uniform(0.025, 0.05), nose=rng.uniform(0.05, 0.14),
                   mouth_w=rng.uniform(0.08, 0.2), mouth_y=rng.uniform(0.14, 0.24), skin=rng.uniform(120, 220),
                   hair=rng.uniform(0.0, 0.15), brows=rng.uniform(0.0, 1.0))
        for _ in range(per_person):
            canvas = Image.new("L", (big, big), int(rng.uniform(20, 90)))
            draw = ImageDraw.Draw(canvas)
            cx, cy = big * (0.5 + rng.uniform(-0.05, 0.05)), big * (0.5 + rng.uniform(-0.05, 0.05))
            s = big * rng.uniform(0.9, 1.08)
            light = rng.uniform(0.8, 1.15)
            skin = int(np.clip(who["skin"] * light, 0, 255))
            w, h = who["face_w"] * s, who["face_h"] * s
            if who["hair"] > 0.02:
                draw.ellipse([cx - w * 1.05, cy - h - who["hair"] * s, cx + w * 1.05, cy], fill=int(skin * 0.3))
            draw.ellipse([cx - w, cy - h, cx + w, cy + h], fill=skin)
            ey, r = cy + who["eye_y"] * s, who["eye_r"] * s
            for side in (-1, 1):
                ex = cx + side * who["eye_gap"] * s
                draw.ellipse([ex - r, ey - r * 0.7, ex + r, ey + r * 0.7], fill=int(skin * 0.2))
                if who["brows"] > 0.5:
                    draw.line([ex - r * 1.3, ey - r * 1.8, ex + r * 1.3, ey - r * 1.8], fill=int(skin * 0.3),
                              width=max(1, int(r * 0.6)))
            draw.line([cx, ey + r, cx, ey + r + who["nose"] * s], fill=int(skin * 0.6), width=max(1, int(s * 0.015)))
            my, mw = cy + who["mouth_y"] * s, who["mouth_w"] * s
            smile = rng.uniform(-0.03, 0.05) * s
            draw.arc([cx - mw, my - abs(smile) - 2, cx + mw, my + abs(smile) + 2], 0 if smile >= 0 else 180,
                     180 if smile >= 0 else 360, fill=int(skin * 0.35), width=max(1, int(s * 0.02)))
            canvas = canvas.rotate(rng.uniform(-8, 8), resample=Image.Resampling.BILINEAR, center=(cx, cy))
            picture = np.asarray(canvas.resize((size, size), Image.Resampling.BOX), dtype=np.float64)
            picture = picture + rng.normal(0, 6, picture.shape)
            pictures.append(np.clip(picture, 0, 255).astype(np.uint8))
            labels.append(f"person_{person + 1:02d}")
    return np.stack(pictures), np.array(labels, dtype=object)


def elephants(per_class: int = 60, size: int = 32, seed: int = 0):
    """Colour scenes labelled "elephant" or "not_elephant" (other animals, trees, rocks, cars)."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    big = size * SCALE
    pictures, labels = [], []
    for label in ("elephant", "not_elephant"):
        for _ in range(per_class):
            sky = tuple(int(v) for v in rng.uniform([120, 160, 200], [190, 220, 255]))
            ground = tuple(int(v) for v in rng.uniform([90, 110, 40], [170, 170, 90]))
            canvas = Image.new("RGB", (big, big), sky)
            draw = ImageDraw.Draw(canvas)
            horizon = big * rng.uniform(0.45, 0.65)
            draw.rectangle([0, horizon, big, big], fill=ground)
            if label == "elephant":
                _draw_elephant(draw, rng, big)
            else:
                _draw_other(draw, rng, big)
            if rng.random() < 0.5:
                canvas = canvas.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            picture = np.asarray(canvas.resize((size, size), Image.Resampling.BOX), dtype=np.float64)
            pictures.append(np.clip(picture + rng.normal(0, 5, picture.shape), 0, 255).astype(np.uint8))
            labels.append(label)
    return np.stack(pictures), np.array(labels, dtype=object)


def _draw_elephant(draw, rng, big) -> None:
    grey = int(rng.uniform(90, 150))
    colour = (grey, grey, int(grey * 1.05))
    s = big * rng.uniform(0.45, 0.7)
    x0, y0 = big * rng.uniform(0.1, 0.45), big * rng.uniform(0.35, 0.5)
    draw.ellipse([x0, y0, x0 + s, y0 + s * 0.6], fill=colour)                        # body
    for leg in (0.1, 0.3, 0.6, 0.8):
        draw.rectangle([x0 + leg * s, y0 + s * 0.45, x0 + (leg + 0.12) * s, y0 + s * 0.85], fill=colour)
    hx, hy = x0 + s * 0.85, y0 - s * 0.05
    draw.ellipse([hx, hy, hx + s * 0.35, hy + s * 0.35], fill=colour)                # head
    draw.ellipse([hx - s * 0.05, hy, hx + s * 0.2, hy + s * 0.3], fill=tuple(int(c * 0.85) for c in colour))  # ear
    draw.line([hx + s * 0.3, hy + s * 0.25, hx + s * 0.38, hy + s * 0.55, hx + s * 0.33, hy + s * 0.7],
              fill=colour, width=max(2, int(s * 0.07)))                              # trunk
    draw.line([hx + s * 0.25, hy + s * 0.3, hx + s * 0.4, hy + s * 0.35], fill=(240, 240, 230),
              width=max(1, int(s * 0.025)))                                          # tusk


def _draw_other(draw, rng, big) -> None:
    kind = rng.integers(0, 4)
    s = big * rng.uniform(0.3, 0.6)
    x0, y0 = big * rng.uniform(0.1, 0.5), big * rng.uniform(0.3, 0.5)
    colour = tuple(int(v) for v in rng.uniform(20, 240, 3))
    if kind == 0:    # a tree
        draw.rectangle([x0 + s * 0.4, y0 + s * 0.3, x0 + s * 0.55, y0 + s], fill=(100, 70, 40))
        draw.ellipse([x0, y0 - s * 0.3, x0 + s, y0 + s * 0.5], fill=(40, int(rng.uniform(100, 160)), 40))
    elif kind == 1:  # a rock
        draw.polygon([(x0, y0 + s), (x0 + s * 0.3, y0 + s * 0.3), (x0 + s, y0 + s * 0.5), (x0 + s * 1.1, y0 + s)],
                     fill=tuple(int(c * 0.6) for c in colour))
    elif kind == 2:  # a car
        draw.rectangle([x0, y0 + s * 0.4, x0 + s * 1.2, y0 + s * 0.75], fill=colour)
        draw.rectangle([x0 + s * 0.25, y0 + s * 0.15, x0 + s * 0.85, y0 + s * 0.45], fill=colour)
        for wheel in (0.2, 0.9):
            draw.ellipse([x0 + wheel * s - s * 0.12, y0 + s * 0.65, x0 + wheel * s + s * 0.12, y0 + s * 0.89],
                         fill=(20, 20, 20))
    else:            # another animal: a brown four-legged one with a long neck
        brown = (int(rng.uniform(120, 200)), int(rng.uniform(80, 130)), 40)
        draw.ellipse([x0, y0 + s * 0.3, x0 + s, y0 + s * 0.7], fill=brown)
        for leg in (0.1, 0.75):
            draw.rectangle([x0 + leg * s, y0 + s * 0.6, x0 + (leg + 0.08) * s, y0 + s], fill=brown)
        draw.line([x0 + s * 0.9, y0 + s * 0.4, x0 + s * 1.05, y0 - s * 0.2], fill=brown, width=max(2, int(s * 0.08)))


# ------------------------------------------------------------------ detection: faces in cluttered scenes
def clutter(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A greyscale background [H, W] uint8 with no face: a gradient, and blobs, bars and boxes, some
    of them face-shaped ellipses of skin-like grey (without eyes or mouth), so a detector must learn more
    than "an oval"."""
    from PIL import Image, ImageDraw

    rows = np.linspace(0, 1, height)[:, None]
    columns = np.linspace(0, 1, width)[None, :]
    base = rng.uniform(30, 170) + rng.uniform(-40, 40) * rows + rng.uniform(-40, 40) * columns
    canvas = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), mode="L")
    draw = ImageDraw.Draw(canvas)
    for _ in range(int(rng.integers(4, 10) * height * width / 19_200)):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        size = rng.uniform(4, min(height, width) / 2.5)
        shade = int(rng.uniform(0, 255))
        kind = rng.integers(0, 4)
        if kind == 0:   # a face-shaped oval, plain
            draw.ellipse([x - size * 0.7, y - size * 0.9, x + size * 0.7, y + size * 0.9], fill=int(rng.uniform(120, 220)))
        elif kind == 1:
            draw.rectangle([x, y, x + size * rng.uniform(0.5, 2), y + size * rng.uniform(0.5, 2)], fill=shade)
        elif kind == 2:
            draw.line([x, y, x + rng.uniform(-2, 2) * size, y + rng.uniform(-2, 2) * size], fill=shade,
                      width=int(rng.integers(1, 4)))
        else:
            draw.ellipse([x - size, y - size * 0.4, x + size, y + size * 0.4], fill=shade)
    picture = np.asarray(canvas, dtype=np.float64) + rng.normal(0, 4, (height, width))
    return np.clip(picture, 0, 255).astype(np.uint8)


def face_patches(count: int, size: int = 24, seed: int = 0) -> np.ndarray:
    """`count` window-sized face patches [N, size, size] uint8: made-up faces laid over clutter
    (an oval mask: the face, and its surroundings as a scene would have them)."""
    rng = np.random.default_rng(seed)
    people = max(1, count // 10)
    faces_drawn, _ = faces(people=people, per_person=-(-count // people), size=size, seed=seed)
    mask = _face_mask(size)
    patches = [_composite(face, clutter(size, size, rng), mask) for face in faces_drawn[:count]]
    return np.stack(patches)


def face_scene(height: int, width: int, rng: np.random.Generator, faces_in_it: int, window: int = 24,
               largest: float = 2.5):
    """A cluttered picture with `faces_in_it` faces pasted at random places and sizes (window to
    `largest` windows, never overlapping): (picture [H, W] uint8, true boxes as dicts x, y, width, height)."""
    from PIL import Image

    picture = clutter(height, width, rng)
    boxes = []
    for _ in range(faces_in_it * 20):  # tries
        if len(boxes) == faces_in_it:
            break
        side = int(round(window * np.exp(rng.uniform(0, np.log(largest)))))
        if side > min(height, width):
            continue
        x, y = int(rng.integers(0, width - side + 1)), int(rng.integers(0, height - side + 1))
        if any(x < b["x"] + b["width"] and b["x"] < x + side and y < b["y"] + b["height"] and b["y"] < y + side
               for b in boxes):
            continue
        face = faces(people=1, per_person=1, size=side * 2, seed=int(rng.integers(1 << 30)))[0][0]
        face = np.asarray(Image.fromarray(face).resize((side, side), Image.Resampling.BOX))
        picture[y:y + side, x:x + side] = _composite(face, picture[y:y + side, x:x + side], _face_mask(side))
        boxes.append({"x": x, "y": y, "width": side, "height": side})
    return picture, boxes


def _face_mask(size: int) -> np.ndarray:
    rows, columns = np.mgrid[0:size, 0:size]
    centre = (size - 1) / 2
    distance = ((columns - centre) / (0.44 * size)) ** 2 + ((rows - centre) / (0.5 * size)) ** 2
    return np.clip((1.15 - distance) / 0.3, 0, 1)  # 1 inside the oval, fading at its edge


def _composite(face: np.ndarray, background: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return (face * mask + background * (1 - mask)).round().clip(0, 255).astype(np.uint8)
