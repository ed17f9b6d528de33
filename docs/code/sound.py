"""Sound: clips become log-mel spectrograms, pictures of sound, and a CNN reads them."""
from sklearn.model_selection import train_test_split

from deepfit import Clips, DeepClassifier
from deepfit.data.synthetic_sound import genres

waveforms, labels = genres(per_class=12, rate=8000, seconds=(1.0, 2.0), seed=0)   # or deepfit.read_audio("genres/")
train, test, y_train, y_test = train_test_split(waveforms, labels, test_size=0.25, random_state=0, stratify=labels)
model = DeepClassifier(random_state=0).fit(Clips(train, 8000), y_train)
print(f"{len(set(labels))} genres, test accuracy {model.score(Clips(test, 8000), y_test):.3f}")
