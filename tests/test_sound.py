"""Sound in the Python API: reading files, the spectrogram Encoder, the CNN over spectrograms with one
prediction per clip, honest splits by recording, and bad audio files."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import soundfile

from deepfit import Clips, DeepClassifier, load, read_audio
from deepfit.data import audio as audio_module
from deepfit.data.audio_encoder import AudioEncoder
from deepfit.data.splits import grouped_split
from deepfit.data.synthetic_sound import genres, write_clips
from deepfit.errors import DataWarning, InvalidInputError

RATE = 8000


def tone(seconds: float, frequency: float, rate: int = RATE, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (level * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


@pytest.fixture(scope="module")
def genre_split():
    waveforms, labels = genres(per_class=16, rate=RATE, seconds=(1.0, 2.0), seed=3)
    clips = Clips(waveforms, RATE)
    rows = np.random.default_rng(0).permutation(len(labels))
    train, test = rows[:44], rows[44:]
    return clips[train], labels[train], clips[test], labels[test]


@pytest.fixture(scope="module")
def genre_model(genre_split):
    train_clips, train_labels, _, _ = genre_split
    return DeepClassifier(random_state=0).fit(train_clips, train_labels)  # defaults, as a user runs it


# ------------------------------------------------------------------------------------ reading
def test_reads_every_format_in_class_folders_mixed_to_mono_at_one_rate(tmp_path):
    (tmp_path / "a").mkdir()
    stereo = np.stack([tone(0.5, 440, 22050), tone(0.5, 440, 22050)], axis=1)
    soundfile.write(tmp_path / "a" / "x.wav", stereo, 22050)
    for suffix in (".flac", ".ogg", ".au", ".mp3"):
        soundfile.write(tmp_path / "a" / f"y{suffix}", tone(0.5, 440, 22050), 22050)
    (tmp_path / "b").mkdir()
    soundfile.write(tmp_path / "b" / "z.wav", tone(1.0, 880, 8000), 8000)
    sounds = read_audio(tmp_path)
    assert sounds.clips.sample_rate == 16000  # the highest rate among the files, at most 16 kHz
    assert sorted(sounds.labels.tolist()) == ["a"] * 5 + ["b"]
    assert all(w.ndim == 1 for w in sounds.clips.waveforms)
    np.testing.assert_allclose(sounds.clips.durations(), [0.5] * 5 + [1.0], atol=0.03)  # MP3 adds a little
    assert read_audio(tmp_path, sample_rate=8000).clips.sample_rate == 8000


def test_a_second_read_decodes_nothing(tmp_path, monkeypatch):
    write_clips(tmp_path, [tone(0.5, 300), tone(0.5, 600)], ["low", "high"], RATE)
    first = read_audio(tmp_path)

    def no_decoding(*args):
        raise AssertionError("decoded again")

    monkeypatch.setattr(audio_module, "_decode", no_decoding)
    second = read_audio(tmp_path)
    for a, b in zip(first.clips.waveforms, second.clips.waveforms):
        np.testing.assert_array_equal(a, b)


def test_pieces_of_one_recording_share_a_recording_name(tmp_path):
    waveforms, labels = genres(per_class=2, rate=RATE, seconds=(1.0, 1.0), seed=0)
    write_clips(tmp_path, waveforms, labels, RATE, pieces=3)
    clips = read_audio(tmp_path).clips
    assert len(clips) == 24 and len(set(clips.recordings)) == 8


# ------------------------------------------------------------------------------------ encoding
def test_loudness_does_not_change_the_spectrogram():
    clip = tone(1.0, 440) + 0.05 * np.random.default_rng(0).standard_normal(RATE).astype(np.float32)
    encoder = AudioEncoder.fit(Clips([clip, clip], RATE))
    loud, quiet = encoder.transform(Clips([clip, clip / 30], RATE))
    np.testing.assert_allclose(loud, quiet, atol=1e-3)


def test_long_clips_are_cut_into_windows_and_short_ones_padded():
    encoder = AudioEncoder.fit(Clips([tone(1.0, 440)] * 5, RATE))
    assert encoder.window_seconds == pytest.approx(1.0, abs=0.05)
    windows, clip_index = encoder.encode(Clips([tone(0.3, 440), tone(4.5, 440), tone(1.0, 440)], RATE))
    assert windows.shape[1:] == (1, encoder.n_mels, encoder.window_frames)
    assert clip_index.tolist() == [0] + [1] * 5 + [2]  # 4.5 s in windows of 1 s: 5 windows, first to last


def test_another_sample_rate_is_resampled_to_the_models():
    encoder = AudioEncoder.fit(Clips([tone(1.0, 440)] * 3, RATE))
    at_model_rate = encoder.transform(Clips([tone(1.0, 440)], RATE))
    at_44k = encoder.transform(Clips([tone(1.0, 440, rate=44100)], 44100))
    assert np.abs(at_model_rate - at_44k).mean() < 0.05


# ------------------------------------------------------------------------------------ learning
@pytest.mark.slow
def test_spectrogram_cnn_labels_new_clips_and_beats_a_shallow_model(genre_model, genre_split):
    from sklearn.linear_model import LogisticRegression

    from deepfit.estimators.base import pool_rows

    train_clips, train_labels, test_clips, test_labels = genre_split
    deep = genre_model.score(test_clips, test_labels)
    windows, of_clip = genre_model.encoder_.encode(train_clips)  # the same spectrograms, for the shallow model
    shallow = LogisticRegression(max_iter=3000).fit(windows.reshape(len(windows), -1), train_labels[of_clip])
    test_windows, of_test_clip = genre_model.encoder_.encode(test_clips)
    pooled = pool_rows(shallow.predict_proba(test_windows.reshape(len(test_windows), -1)), of_test_clip)
    shallow_accuracy = float((shallow.classes_[pooled.argmax(1)] == test_labels).mean())
    assert deep >= 0.9 and deep > shallow_accuracy


def test_one_prediction_per_clip_whatever_its_length(genre_model):
    clips = Clips([tone(0.2, 150), tone(7.0, 150), tone(1.5, 150)], RATE)
    probabilities = genre_model.predict_proba(clips)
    assert probabilities.shape == (3, 4)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-9)
    assert genre_model.transform(clips).shape[0] == 3


def test_the_saved_model_transforms_and_predicts_the_same(genre_model, genre_split, tmp_path):
    _, _, test_clips, _ = genre_split
    genre_model.save(tmp_path / "genres.deepfit")
    loaded = load(tmp_path / "genres.deepfit")
    assert loaded.encoder_.kind == "audio" and loaded.encoder_ == genre_model.encoder_
    np.testing.assert_allclose(loaded.predict_proba(test_clips), genre_model.predict_proba(test_clips), atol=1e-6)


def test_a_sound_model_is_a_starting_point_for_new_sounds(genre_model):
    waveforms = [tone(1.0, f) for f in (200, 210, 220, 1200, 1250, 1300)] * 3
    labels = np.array(["low", "low", "low", "high", "high", "high"] * 3)
    tuned = DeepClassifier(max_epochs=6, transfer_from=genre_model, random_state=0).fit(Clips(waveforms, RATE), labels)
    assert tuned.score(Clips([tone(1.0, 205), tone(1.0, 1280)], RATE), ["low", "high"]) == 1.0
    with pytest.raises(InvalidInputError, match="trained on sound"):
        DeepClassifier(transfer_from=genre_model).fit(np.random.rand(20, 3), [0, 1] * 10)


# ------------------------------------------------------------------------------------ honest splits
def test_every_window_of_a_recording_stays_on_one_side_of_the_split():
    labels = np.repeat(np.arange(4), 30)
    recordings = np.repeat(np.arange(40), 3)  # three pieces per recording
    for seed in range(5):
        held = grouped_split(labels, recordings, 0.2, seed)
        assert not set(recordings[held]) & set(recordings[~held])
        assert sorted(set(labels[held])) == [0, 1, 2, 3]  # stratified


def test_early_stopping_holds_out_whole_recordings(genre_split, monkeypatch):
    from deepfit.estimators import base

    train_clips, train_labels, _, _ = genre_split
    halves = [half for w in train_clips.waveforms for half in np.array_split(w, 2)]
    pieces = Clips(halves, RATE, recordings=np.repeat(np.arange(len(train_clips)), 2))
    splits = []

    def watched(y_index, fraction, seed, groups=None):
        rows = real(y_index, fraction, seed, groups)
        splits.append((groups, rows))
        return rows

    real = base._validation_rows
    monkeypatch.setattr(base, "_validation_rows", watched)
    clf = DeepClassifier(early_stopping=True, validation_fraction=0.25, max_epochs=2, random_state=0)
    clf.fit(pieces, np.repeat(train_labels, 2))
    (groups, held), = splits
    assert clf.training_summary_["n_validation"] == len(held) > 0
    assert not set(groups[held]) & set(np.delete(groups, held))


def test_scoring_on_pieces_of_training_recordings_warns(genre_model, genre_split):
    train_clips, train_labels, test_clips, test_labels = genre_split
    with pytest.warns(DataWarning, match="recordings the model was trained on"):
        genre_model.score(train_clips[:6], train_labels[:6])
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        genre_model.score(test_clips, test_labels)  # new recordings: no warning


# ------------------------------------------------------------------------------------ bad files
def test_a_text_file_named_wav_is_named_in_the_error(tmp_path):
    write_clips(tmp_path, [tone(0.5, 300), tone(0.5, 600)], ["low", "high"], RATE)
    (tmp_path / "low" / "notes.wav").write_text("this is not sound\n" * 20)
    with pytest.raises(InvalidInputError, match=r"notes\.wav: not a readable sound file"):
        read_audio(tmp_path)
    with pytest.warns(DataWarning, match="skipped 1 of 3"):
        assert len(read_audio(tmp_path, skip_bad=True).clips) == 2


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b""), "empty"),
    (lambda p: soundfile.write(p, np.zeros(0, np.float32), RATE), "no samples"),
])
def test_empty_files_are_refused(tmp_path, make, message):
    write_clips(tmp_path, [tone(0.5, 300), tone(0.5, 600)], ["low", "high"], RATE)
    make(tmp_path / "high" / "bad.wav")
    with pytest.raises(InvalidInputError, match=rf"bad\.wav: .*{message}"):
        read_audio(tmp_path)


def test_a_truncated_wav_is_read_as_far_as_it_goes_with_a_warning(tmp_path):
    write_clips(tmp_path, [tone(1.0, 300), tone(1.0, 600)], ["low", "high"], RATE)
    path = tmp_path / "low" / "low.00000.wav"
    path.write_bytes(path.read_bytes()[:RATE])  # half of the samples are gone
    with pytest.warns(DataWarning, match=r"low\.00000\.wav: is truncated"):
        sounds = read_audio(tmp_path)
    assert sounds.clips.durations()[1] == pytest.approx(0.5, abs=0.01)


def test_a_silent_clip_is_named_in_a_warning(tmp_path):
    write_clips(tmp_path, [tone(0.5, 300), np.zeros(RATE, np.float32)], ["low", "quiet"], RATE)
    with pytest.warns(DataWarning, match=r"quiet\.00001\.wav: is silent"):
        read_audio(tmp_path)


def test_a_two_hour_file_is_cut_with_a_warning(tmp_path):
    rate = 1000  # two hours at a low rate: a 14 MB file
    samples = np.tile(tone(1.0, 100, rate), 7200)
    soundfile.write(tmp_path / "long.wav", samples, rate, subtype="PCM_16")
    with pytest.warns(DataWarning, match=r"long\.wav: lasts 120\.0 minutes"):
        sounds = read_audio(tmp_path / "long.wav")
    assert sounds.clips.durations()[0] == pytest.approx(600.0)


def test_bad_arrays_get_clear_errors():
    with pytest.raises(InvalidInputError, match="sample_rate"):
        Clips([np.zeros(100)], sample_rate=0)
    with pytest.raises(InvalidInputError, match="NaN"):
        Clips([np.full(100, np.nan)], sample_rate=RATE)
    with pytest.raises(InvalidInputError, match="list of waveforms"):
        Clips(np.zeros(100), sample_rate=RATE)


def test_linear_models_point_sound_to_the_deep_classifier():
    from deepfit import LogisticRegression

    with pytest.raises(InvalidInputError, match="for sound use DeepClassifier"):
        LogisticRegression().fit(Clips([tone(0.5, 300), tone(0.5, 600)], RATE), ["low", "high"])


def test_a_folder_of_sound_is_told_from_pictures_and_tables(tmp_path):
    from deepfit.data.kinds import for_source

    (tmp_path / "README.txt").write_text("my recordings")
    write_clips(tmp_path / "clips", [tone(0.5, 300), tone(0.5, 600)], ["low", "high"], RATE)
    (tmp_path / "clips" / "notes.txt").write_text("taken in May")
    listing = tmp_path / "files.csv"
    listing.write_text("path,label\nclips/low/low.00000.wav,low\nclips/high/high.00001.wav,high\n")
    assert [for_source(p).name for p in (tmp_path / "clips", tmp_path / "clips" / "low" / "low.00000.wav", listing)] == \
        ["audio"] * 3
    assert read_audio(listing).labels.tolist() == ["low", "high"]


def test_the_window_length_and_rate_can_be_chosen_and_are_capped_by_default():
    clips = Clips([tone(2.0, 440, 44100)] * 3, 44100)
    encoder = AudioEncoder.fit(clips)
    assert encoder.sample_rate == 16000 and encoder.window_seconds == pytest.approx(2.0, abs=0.05)
    short = AudioEncoder.fit(clips, window_seconds=0.5)
    assert short.window_seconds == pytest.approx(0.5, abs=0.05)
    assert len(short.transform(clips)) == 3 * 4  # 2 s in windows of 0.5 s


def test_a_file_whose_body_cannot_be_decoded_is_named_or_skipped(tmp_path):
    write_clips(tmp_path, [tone(1.0, 300), tone(1.0, 600), tone(1.0, 900)], ["low", "high", "high"], RATE,
                suffix=".flac")
    damaged = tmp_path / "high" / "high.00002.flac"
    body = bytearray(damaged.read_bytes())
    body[len(body) // 3:-10] = b"\x55" * (len(body) - 10 - len(body) // 3)  # the header survives
    damaged.write_bytes(bytes(body))
    with pytest.raises(InvalidInputError, match=r"high\.00002\.flac: cannot be decoded"):
        read_audio(tmp_path, cache=False)
    with pytest.warns(DataWarning, match="skipped 1 of 3"):
        sounds = read_audio(tmp_path, skip_bad=True, cache=False)
    assert sounds.labels.tolist() == ["high", "low"] and len(sounds.clips) == 2


def test_recordings_are_told_apart_by_folder_or_named_by_a_csv_column(tmp_path):
    from deepfit.data.audio import recording_of

    assert recording_of("clips/rock/1.wav") != recording_of("clips/jazz/1.wav")
    assert recording_of("train/rock/rock.00001.2.wav") == recording_of("test/rock/rock.00001.0.wav")
    write_clips(tmp_path, [tone(0.5, 300), tone(0.5, 350), tone(0.5, 900)], ["low", "low", "high"], RATE)
    (tmp_path / "list.csv").write_text("path,label,fsID\nlow/low.00000.wav,low,17\nlow/low.00001.wav,low,17\n"
                                       "high/high.00002.wav,high,18\n")
    assert read_audio(tmp_path / "list.csv").clips.recordings.tolist() == ["17", "17", "18"]


def test_a_listing_with_more_columns_is_still_sound_when_its_files_are_there(tmp_path):
    from deepfit.data.kinds import for_source

    write_clips(tmp_path, [tone(0.5, 300), tone(0.5, 900)], ["low", "high"], RATE)
    listing = tmp_path / "meta.csv"
    listing.write_text("filename,fold,target,category,esc10,src_file,take\n"
                       "low/low.00000.wav,1,0,low,True,100,A\nhigh/high.00001.wav,1,1,high,True,101,A\n")
    assert for_source(listing).name == "audio"
    table = tmp_path / "features.csv"  # names files that are not beside it, and many columns: a table
    table.write_text("filename,length,a,b,c,d,label\nx.00001.0.wav,1,2,3,4,5,rock\nx.00001.1.wav,1,2,3,4,5,rock\n")
    assert for_source(table).name == "table"


def test_wrong_inputs_for_a_model_are_named():
    table_model = DeepClassifier(max_epochs=2, random_state=0).fit(np.random.rand(30, 3), [0, 1, 2] * 10)
    with pytest.raises(InvalidInputError, match="takes a table, not sound"):
        table_model.predict(Clips([tone(0.5, 300)], RATE))
    with pytest.raises(InvalidInputError, match="from 1000 to 192000"):
        Clips([np.zeros(100)], sample_rate=500)
    with pytest.raises(InvalidInputError, match="Each row is one clip"):
        Clips(np.zeros((8000, 1)), sample_rate=RATE)
    with pytest.raises(InvalidInputError, match="labels are not classes"):
        DeepClassifier().fit(Clips([tone(0.5, 300)] * 4, RATE), np.array([1, "b", 1, "b"], dtype=object))


def test_integer_pcm_is_scaled_like_floats():
    as_float = tone(0.5, 300)
    as_int16 = np.round(as_float * 32767).astype(np.int16)
    as_uint8 = np.round(as_float * 127 + 128).astype(np.uint8)
    clips = Clips([as_float, as_int16, as_uint8], RATE)
    np.testing.assert_allclose(clips.waveforms[1], as_float, atol=1e-4)
    np.testing.assert_allclose(clips.waveforms[2], as_float, atol=1e-2)


def test_a_streamed_wav_with_an_unknown_length_is_not_called_truncated(tmp_path):
    path = tmp_path / "streamed.wav"
    soundfile.write(path, tone(0.5, 300), RATE, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    at = data.index(b"data")
    data[at + 4:at + 8] = b"\xff\xff\xff\xff"  # as ffmpeg writes to a pipe
    path.write_bytes(bytes(data))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        assert read_audio(path).clips.durations()[0] == pytest.approx(0.5)


def test_spectrograms_are_shifted_in_time_into_silence_not_in_pitch():
    import torch

    from deepfit.training.augment import ShiftFlip

    windows = torch.arange(1, 9, dtype=torch.float32).reshape(1, 1, 8, 1).repeat(64, 1, 1, 12)  # band b holds b+1
    silence = -torch.arange(1, 9, dtype=torch.float32).reshape(1, 1, 8, 1)
    shifted = ShiftFlip((0, 3), flip=False, seed=0, fill=silence)(windows)
    for band in range(8):  # every band keeps its own values, or the silence of that band
        assert set(shifted[:, 0, band].unique().tolist()) <= {band + 1.0, -(band + 1.0)}
    assert (shifted < 0).any()
