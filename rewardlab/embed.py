"""Sentence embeddings (sentence-transformers), shared by embedding rewards, learned RMs, the gold model,
the embedding-space KL and the semantic-collapse detector. One loaded model per name per process."""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np

from rewardlab.errors import ConfigError

DEFAULT_EMBEDDER = "all-minilm-l6-v2"


@lru_cache(maxsize=4)
def load_embedder(name: str = DEFAULT_EMBEDDER, device: str | None = None):
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise ConfigError("embeddings need sentence-transformers: pip install 'rewardlab[full]' (or `make setup`)") from None
    from rewardlab.models import resolve

    return SentenceTransformer(resolve(name), device=device or "cpu")


def embed(texts: Sequence[str], name: str = DEFAULT_EMBEDDER, batch_size: int = 64) -> np.ndarray:
    """(N, D) float32 unit-norm embeddings."""
    model = load_embedder(name)
    return model.encode(
        list(texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    ).astype(np.float32)
