"""The kind protocol: each kind is recognised from data and from files, and a fourth kind joins by
registering, ahead of the table that takes anything."""

import numpy as np
import pandas as pd
from PIL import Image

from deepfit import Clips
from deepfit.data import kinds
from deepfit.data.encoder import TableEncoder


def test_each_kind_is_recognised_from_what_fit_is_given():
    assert kinds.for_data(pd.DataFrame({"a": [1.0, 2.0]})) is kinds.TABLE
    assert kinds.for_data(np.zeros((3, 4))) is kinds.TABLE
    assert kinds.for_data(np.zeros((3, 8, 8), dtype=np.uint8)) is kinds.PICTURES
    assert kinds.for_data(Clips([np.zeros(800)], 8000)) is kinds.SOUND
    assert kinds.for_data(["a short text", "another one"]) is kinds.TEXT
    assert kinds.for_data(np.array(["a text"], dtype=object)) is kinds.TEXT


def test_each_kind_is_recognised_from_its_files(tmp_path):
    import soundfile

    (tmp_path / "pictures" / "cat").mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(tmp_path / "pictures" / "cat" / "1.png")
    (tmp_path / "sound" / "low").mkdir(parents=True)
    soundfile.write(tmp_path / "sound" / "low" / "1.wav", np.zeros(800, dtype=np.float32), 8000)
    (tmp_path / "rows.csv").write_text("a,label\n1,x\n2,y\n")
    (tmp_path / "texts" / "spam").mkdir(parents=True)
    (tmp_path / "texts" / "spam" / "1.txt").write_text("win a prize now")
    reviews = [f"review {i}: the film was {'good' if i % 2 else 'bad'} and I say so" for i in range(30)]
    pd.DataFrame({"review": reviews, "stars": range(30), "label": ["x", "y"] * 15}).to_csv(tmp_path / "reviews.csv")
    names = ("pictures", "sound", "rows.csv", "texts", "reviews.csv")
    assert [kinds.for_source(tmp_path / name).name for name in names] == ["image", "audio", "table", "text", "text"]


def test_a_fifth_kind_joins_by_registering_and_is_asked_before_the_ones_named():
    class Words(kinds.Kind):  # a stand-in for a kind of its own: lists of hashtags
        name = "words-for-this-test"
        words = kinds.Words(data="hashtags", files="hashtag files", one="hashtag")

        def recognises(self, X) -> bool:
            return isinstance(X, list) and all(isinstance(item, str) and item.startswith("#") for item in X)

    try:
        added = kinds.register(Words(), before="text")
        assert kinds.for_data(["#spam", "#ham"]) is added
        assert kinds.for_data(["spam", "ham"]) is kinds.TEXT
        assert kinds.of("words-for-this-test") is added
        assert list(kinds.KINDS)[-1] == "table"  # still the last resort
        assert kinds.for_data(pd.DataFrame({"a": [1.0]})) is kinds.TABLE
    finally:
        kinds.KINDS.pop("words-for-this-test", None)
    assert "words-for-this-test" not in kinds.KINDS


def test_an_encoder_written_without_a_kind_is_a_tables():
    # Model files from before encoders named their kind hold a table's encoder.
    data = TableEncoder.fit(pd.DataFrame({"a": [1.0, 2.0]})).to_dict()
    data.pop("kind")
    assert isinstance(kinds.encoder_from_dict(data), TableEncoder)
