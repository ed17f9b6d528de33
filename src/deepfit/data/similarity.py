"""Finding the same example twice: exact copies by hashing, near copies by similarity of small summaries
(cosine of unit vectors for pictures and sound, every column within a tolerance for tables)."""

from __future__ import annotations

import hashlib

import numpy as np

CHUNK_ROWS = 2048


def exact_keys(rows) -> np.ndarray:
    """One key per example, equal exactly when the examples are, and comparable between two sets:
    pandas' row hash for a DataFrame, a BLAKE2 digest of the bytes of each array otherwise."""
    import pandas as pd

    if isinstance(rows, pd.DataFrame):
        return pd.util.hash_pandas_object(rows, index=False).to_numpy()
    return np.array([hashlib.blake2b(np.ascontiguousarray(r).tobytes(), digest_size=16).digest() for r in rows],
                    dtype=object)


def groups_of_equal(keys: np.ndarray) -> list[list[int]]:
    """Indices sharing a key, for every key held by more than one example."""
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    order = np.argsort(inverse, kind="stable")
    starts = np.cumsum(counts)[:-1]
    return [group.tolist() for group, count in zip(np.split(order, starts), counts) if count > 1]


def similar_pairs(vectors: np.ndarray, threshold: float, other: np.ndarray | None = None) -> np.ndarray:
    """(i, j) pairs of unit vectors with cosine similarity at least `threshold`, within `vectors`
    (i < j) or between `vectors` and `other`; computed in blocks, so memory stays bounded."""
    vectors = vectors.astype(np.float32)
    against = vectors if other is None else other.astype(np.float32)
    found = []
    for start in range(0, len(vectors), CHUNK_ROWS):
        similarity = vectors[start:start + CHUNK_ROWS] @ against.T
        rows, columns = np.nonzero(similarity >= threshold)
        rows = rows + start
        if other is None:
            keep = columns > rows
            rows, columns = rows[keep], columns[keep]
        found.append(np.stack([rows, columns], axis=1))
    return np.concatenate(found) if found else np.empty((0, 2), dtype=int)


GRIDS = 4  # shifted grids for near rows: a pair split by a cell edge in one grid is likely whole in another


def close_rows(encoded: np.ndarray, tolerance: float, other: np.ndarray | None = None, seed: int = 0) -> np.ndarray:
    """(i, j) pairs of standardised table rows that differ by at most `tolerance` in every column.

    Rows are rounded onto grids of cells twice `tolerance` wide, each shifted at random in every
    column; rows sharing a cell are candidates, kept when their largest difference is within
    `tolerance`. Linear in the rows, where a tree search for the same in tens of columns takes
    quadratic time; the price is that a pair split by a cell edge in every grid is missed. Pairs are
    (i in `encoded`, j in `other`), or within `encoded` with i < j (a group of equal cells as a star)."""
    rng = np.random.default_rng(seed)
    candidates = []
    for _ in range(GRIDS):
        shift = rng.uniform(0, 1, encoded.shape[1])
        cells = _cell_keys(encoded, 2 * tolerance, shift)
        if other is None:
            candidates += [(group[0], j) for group in groups_of_equal(cells) for j in group[1:]]
            continue
        first = {}
        for j, key in enumerate(_cell_keys(other, 2 * tolerance, shift).tolist()):
            first.setdefault(key, j)
        candidates += [(i, first[key]) for i, key in enumerate(cells.tolist()) if key in first]
    pairs = np.unique(np.array(candidates, dtype=int).reshape(-1, 2), axis=0)
    against = encoded if other is None else other
    close = np.abs(encoded[pairs[:, 0]] - against[pairs[:, 1]]).max(axis=1, initial=0) <= tolerance
    return pairs[close]


def _cell_keys(rows: np.ndarray, size: float, shift: np.ndarray) -> np.ndarray:
    cells = np.ascontiguousarray(np.floor(rows / size + shift).astype(np.int64))
    return cells.view(np.dtype((np.void, cells.itemsize * cells.shape[1]))).ravel()


def unit_rows(features: np.ndarray) -> np.ndarray:
    """Each row centred and scaled to length 1 (a flat row stays zero and matches nothing)."""
    features = features.reshape(len(features), -1).astype(np.float32)
    features = features - features.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    return np.divide(features, norms, out=np.zeros_like(features), where=norms > 1e-6)


def clusters(pairs: np.ndarray, n: int) -> list[list[int]]:
    """Join pairs into groups (a ~ b and b ~ c: one group a, b, c), largest first."""
    if len(pairs) == 0:
        return []
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    members = np.unique(pairs)
    groups = [members[label[members] == value].tolist() for value in np.unique(label[members])]
    return sorted(groups, key=len, reverse=True)
