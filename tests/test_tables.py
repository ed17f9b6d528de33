"""Reading tables and encoding them: the file-level checks and the fitted Encoder."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from deepfit.data.encoder import TableEncoder
from deepfit.data.tabular import read_table
from deepfit.errors import InvalidInputError


def test_delimiter_is_guessed_from_the_header(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("a;b;label\n1;2;x\n3;4;y\n")
    assert list(read_table(path).columns) == ["a", "b", "label"]


def test_question_marks_are_missing_values(tmp_path):
    path = tmp_path / "uci.csv"
    path.write_text("a,label\n1,x\n?,y\n")
    assert read_table(path)["a"].isna().tolist() == [False, True]


def test_duplicate_column_names_are_refused(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("a,a,label\n1,2,x\n")
    with pytest.raises(InvalidInputError, match="names column 'a' more than once"):
        read_table(path)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.binary(max_size=300))
@example(junk=b"\r\x00")  # once raised the csv module's own error: a bare carriage return in a field
def test_junk_bytes_give_a_clear_error_or_a_table(tmp_path, junk):
    path = tmp_path / "junk.csv"
    path.write_bytes(junk)
    try:
        frame = read_table(path)
    except InvalidInputError as error:
        assert str(error).startswith(str(path))
    else:
        assert isinstance(frame, pd.DataFrame) and len(frame) > 0


def test_encoder_standardises_numbers_and_one_hot_encodes_categories():
    frame = pd.DataFrame({"n": [1.0, 2.0, 3.0, np.nan], "c": ["a", "b", "a", None]})
    encoder = TableEncoder.fit(frame)
    encoded = encoder.transform(frame)
    # n: standardised (missing -> 0, the mean), then its missing indicator, then c: a, b, other/missing.
    assert encoded.shape == (4, 5)
    assert np.allclose(encoded[:3, 0], [-1.2247449, 0, 1.2247449], atol=1e-6) and encoded[3, 0] == 0
    assert encoded[:, 1].tolist() == [0, 0, 0, 1]
    assert encoded[:, 2:].tolist() == [[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1]]


def test_encoder_round_trips_through_json_and_matches_arrays_and_frames():
    import json

    values = np.random.default_rng(0).normal(size=(20, 3))
    values[2, 1] = np.nan
    from_array = TableEncoder.fit(values)
    restored = TableEncoder.from_dict(json.loads(json.dumps(from_array.to_dict())))
    assert np.array_equal(restored.transform(values), from_array.transform(values))
    from_frame = TableEncoder.fit(pd.DataFrame(values))
    assert np.allclose(from_frame.transform(pd.DataFrame(values)), from_array.transform(values), atol=1e-6)


def test_unseen_category_goes_to_the_other_slot():
    encoder = TableEncoder.fit(pd.DataFrame({"c": ["a", "b"]}))
    assert encoder.transform(pd.DataFrame({"c": ["zzz"]})).tolist() == [[0, 0, 1]]


def test_dates_are_refused_with_advice():
    with pytest.raises(InvalidInputError, match="holds dates"):
        TableEncoder.fit(pd.DataFrame({"d": pd.to_datetime(["2024-01-01", "2024-02-01"])}))


def test_parquet_is_read_when_pyarrow_is_there_and_explained_when_not(tmp_path):
    import importlib.util

    path = tmp_path / "t.parquet"
    frame = pd.DataFrame({"a": [1.0, 2.0], "label": ["x", "y"]})
    if importlib.util.find_spec("pyarrow") is None:
        path.write_bytes(b"PAR1 not really")
        with pytest.raises(InvalidInputError, match="reading Parquet needs pyarrow.*pip install pyarrow"):
            read_table(path)
    else:
        frame.to_parquet(path)
        assert read_table(path).equals(frame)
