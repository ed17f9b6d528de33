"""The text network: a bag of token and n-gram embeddings (fastText's idea), then a classifier.

Each feature of a text (a token, or a run of tokens) has a learned vector, its embedding. A text is
the weighted sum of its features' vectors: a feature's weight grows with how often the text holds it
(1 + log count) and with how rare it is among the training texts (its inverse document frequency,
learned once from the data), and the weights of one text have unit length. The output layer (after
optional hidden layers) separates those sentence vectors. By default a vector has one number per
class and the output layer starts as the identity: the network is then, in effect, a linear model
of the features (what wins on small text sets), trained by gradient descent. Word order counts only
as far as the word pairs carry it.

>>> net = TextBag(n_features=100, n_outputs=2)
>>> rows = torch.tensor([[[5.0, 17.0, 0.0], [1.0, 2.0, 0.0]]])   # features 5 and 17, counted 1 and 2
>>> net(rows).shape
torch.Size([1, 2])
"""

from __future__ import annotations

import math

import torch
from torch import nn

from deepfit.models.freezing import FreezableBody


class TokenWeights(nn.Module):
    """The input layer: each feature's weight in its text, from its count and its rarity."""

    def __init__(self, n_features: int):
        super().__init__()
        self.register_buffer("idf", torch.ones(n_features))

    def set_statistics(self, document_counts, n_texts: int) -> None:
        """Smoothed inverse document frequency, as scikit-learn's TfidfVectorizer computes it."""
        counts = torch.zeros_like(self.idf)
        given = torch.as_tensor(document_counts, dtype=torch.float32)[:len(counts)]
        counts[:len(given)] = given
        self.idf.copy_(torch.log((1.0 + n_texts) / (1.0 + counts)) + 1.0)

    def forward(self, ids: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        weights = torch.where(counts > 0, (1.0 + torch.log(counts.clamp_min(1.0))) * self.idf[ids],
                              torch.zeros_like(counts))
        return weights / weights.norm(dim=1, keepdim=True).clamp_min(1e-6)


class BagOfEmbeddings(nn.Module):
    """The body: weighted sum of the features' embeddings, then `hidden_layers` ReLU layers. The
    embeddings' gradients are sparse (a batch touches few of the features), for `AdamW`'s lazy updates."""

    def __init__(self, n_features: int, dim: int, hidden_layers: int, width: int, dropout: float):
        super().__init__()
        self.input = TokenWeights(n_features)
        self.embedding = nn.Embedding(n_features, dim, sparse=True)
        nn.init.normal_(self.embedding.weight, std=0.01 if hidden_layers == 0 else 1.0 / math.sqrt(dim))
        layers, size = [], dim
        for _ in range(hidden_layers):
            layers += [nn.Dropout(dropout), nn.Linear(size, width), nn.ReLU()]
            size = width
        self.hidden = nn.Sequential(*layers)
        self.size = size

    def sentence_vectors(self, rows: torch.Tensor) -> torch.Tensor:
        ids, counts = rows[:, 0].long(), rows[:, 1]
        weights = self.input(ids, counts)
        return torch.bmm(weights.unsqueeze(1), self.embedding(ids)).squeeze(1)

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        return self.hidden(self.sentence_vectors(rows))


class TextBag(FreezableBody, nn.Module):
    """(N, 2, L) rows of feature ids and counts -> sentence vectors -> hidden layers -> class scores."""

    output = "softmax"

    def __init__(self, n_features: int, n_outputs: int, dim: int | None = None, hidden_layers: int = 0,
                 width: int = 256, dropout: float = 0.0):
        super().__init__()
        dim = dim or n_outputs
        self.body = BagOfEmbeddings(n_features, dim, hidden_layers, width, dropout)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.body.size, n_outputs)
        if self.body.size == n_outputs:  # a vector per class: the bag starts as a linear model of the features
            nn.init.eye_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    @property
    def input(self) -> TokenWeights:
        """The input layer, where the estimators set what they learned from the training texts."""
        return self.body.input

    def features(self, rows: torch.Tensor) -> torch.Tensor:
        """What the output layer separates: the sentence vector, after the hidden layers."""
        return self.body(rows)

    def stage_features(self, rows: torch.Tensor) -> list[torch.Tensor]:
        hidden = self.body.sentence_vectors(rows)
        stages = [hidden]
        for layer in self.body.hidden:
            hidden = layer(hidden)
            if isinstance(layer, nn.ReLU):
                stages.append(hidden)
        return stages

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.body(rows)))


class WordConvolutions(nn.Module):
    """Word order: each word's vector, then filters over runs of `widths` neighbouring words (a filter
    of width 3 can learn "not very good" or "how many"), and each filter's largest response anywhere
    in the text (Kim, 2014)."""

    def __init__(self, n_words: int, dim: int, filters: int, widths: tuple):
        super().__init__()
        self.embedding = nn.Embedding(n_words, dim, padding_idx=0, sparse=True)
        nn.init.normal_(self.embedding.weight, std=1.0 / math.sqrt(dim))
        with torch.no_grad():
            self.embedding.weight[0].zero_()
        self.convolutions = nn.ModuleList(nn.Conv1d(dim, filters, width, padding=width // 2) for width in widths)
        self.size = filters * len(widths)

    def forward(self, words: torch.Tensor) -> torch.Tensor:
        if not torch.jit.is_tracing():  # rows are as long as the longest bag; the words end sooner
            words = words[:, :max(1, int((words > 0).sum(dim=1).max()))]
        present = (words > 0).unsqueeze(1)
        vectors = self.embedding(words).transpose(1, 2)
        # after ReLU every response is >= 0, so padding set to 0 never wins the maximum over real words
        return torch.cat([torch.relu(conv(vectors)).masked_fill(~present, 0.0).amax(dim=2)
                          for conv in self.convolutions], dim=1)


class BagAndOrder(nn.Module):
    """The body of `TextCNN`: the bag's sentence vector beside the word-order filters' responses."""

    def __init__(self, n_features: int, n_words: int, dim: int, word_dim: int, filters: int, widths: tuple,
                 dropout: float):
        super().__init__()
        self.bag = BagOfEmbeddings(n_features, dim, 0, 0, 0.0)
        self.order = WordConvolutions(n_words, word_dim, filters, widths)
        self.dropout = nn.Dropout(dropout)
        self.size = dim + self.order.size

    @property
    def input(self) -> TokenWeights:
        return self.bag.input

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.bag.sentence_vectors(rows), self.dropout(self.order(rows[:, 2].long()))], dim=1)


class TextCNN(FreezableBody, nn.Module):
    """(N, 3, L) rows (feature ids, counts, words in order) -> the bag of features and convolutions
    over the words, side by side -> class scores. The bag part starts as `TextBag` does (a linear
    model of the features); the filters add what word order says."""

    output = "softmax"

    def __init__(self, n_features: int, n_words: int, n_outputs: int, dim: int | None = None, word_dim: int = 64,
                 filters: int = 100, widths: tuple = (3, 5), dropout: float = 0.5):
        super().__init__()
        dim = dim or n_outputs
        self.body = BagAndOrder(n_features, n_words, dim, word_dim, filters, tuple(widths), dropout)
        self.head = nn.Linear(self.body.size, n_outputs)
        with torch.no_grad():
            self.head.weight[:, dim:].normal_(std=0.01)
            self.head.bias.zero_()
            if dim == n_outputs:
                self.head.weight[:, :dim].copy_(torch.eye(dim))

    @property
    def input(self) -> TokenWeights:
        return self.body.input

    def features(self, rows: torch.Tensor) -> torch.Tensor:
        return self.body(rows)

    @torch.no_grad()
    def set_word_vectors(self, ids, vectors) -> None:
        """Start the words `ids` from `vectors` (GloVe, fastText), scaled to the spread the other words
        start with, so that their directions, not their length, carry what they know."""
        vectors = torch.as_tensor(vectors, dtype=torch.float32)
        embedding = self.body.order.embedding.weight
        embedding[torch.as_tensor(ids, dtype=torch.long)] = vectors * (embedding.shape[1] ** -0.5
                                                                       / vectors.std().clamp_min(1e-6))

    def stage_features(self, rows: torch.Tensor) -> list[torch.Tensor]:
        return [self.body.bag.sentence_vectors(rows), self.body(rows)]

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(rows))
