"""Seeded synthetic audio and the log-mel features a speech model reads.

No speech data set can be downloaded at scan time. Each reference clip is a few seconds of
summed sines under a syllable-rate envelope plus seeded noise, at the feature extractor's
sampling rate. A Whisper-style encoder always reads a fixed window (30 s, 3000 frames), so
its compute does not depend on what the clip says; what the decoder writes on such clips
is compared with the baseline's tokens, never with a transcript.

Features come from the model's own feature extractor when the folder has
`preprocessor_config.json`; otherwise from transformers' default Whisper extractor with the
config's `num_mel_bins`, padded or cut to the frames its encoder expects.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

PREPROCESSOR_FILE = "preprocessor_config.json"
DEFAULT_SAMPLING_RATE = 16000


def synthetic_clip(index: int, seconds: float, sampling_rate: int) -> torch.Tensor:
    """Clip `index`: three sines (100-3000 Hz) at a 2-6 Hz syllable rhythm, plus noise."""
    generator = torch.Generator().manual_seed(1000 + index)
    samples = int(seconds * sampling_rate)
    t = torch.arange(samples, dtype=torch.float64) / sampling_rate
    frequencies = 100.0 + 2900.0 * torch.rand(3, generator=generator, dtype=torch.float64)
    amplitudes = 0.2 + 0.8 * torch.rand(3, generator=generator, dtype=torch.float64)
    tones = (amplitudes[:, None] * torch.sin(2 * math.pi * frequencies[:, None] * t)).sum(0)
    rhythm_hz = 2.0 + 4.0 * float(torch.rand(1, generator=generator, dtype=torch.float64))
    envelope = 0.5 * (1.0 - torch.cos(2 * math.pi * rhythm_hz * t))
    noise = 0.02 * torch.randn(samples, generator=generator, dtype=torch.float64)
    wave = tones * envelope + noise
    return (0.5 * wave / wave.abs().max()).float()


def log_mel_features(
    path: Path, model: torch.nn.Module, clips: int, seconds: float
) -> tuple[torch.Tensor, str]:
    """`clips` synthetic clips as the model's input features, and where they came from."""
    config = model.config
    extractor, source = _feature_extractor(path, config)
    rate = int(getattr(extractor, "sampling_rate", DEFAULT_SAMPLING_RATE))
    audio = [synthetic_clip(i, seconds, rate).numpy() for i in range(clips)]
    features = extractor(audio, sampling_rate=rate, return_tensors="pt")
    name = getattr(model, "main_input_name", "input_features")
    values = features[name] if name in features else next(iter(features.values()))
    frames = _expected_frames(config)
    if source == "default-whisper-features" and frames and values.shape[-1] != frames:
        values = _fit_frames(values, frames)
    return values.float(), source


def _feature_extractor(path: Path, config: Any) -> tuple[Any, str]:
    if (path / PREPROCESSOR_FILE).is_file():
        from transformers import AutoFeatureExtractor

        try:
            extractor = AutoFeatureExtractor.from_pretrained(
                str(path), local_files_only=True, trust_remote_code=False
            )
            return extractor, "synthetic-audio+model-feature-extractor"
        except Exception:  # a broken preprocessor falls back to the default, recorded as such
            pass
    from transformers import WhisperFeatureExtractor

    mel_bins = int(getattr(config, "num_mel_bins", 80))
    return WhisperFeatureExtractor(feature_size=mel_bins), "default-whisper-features"


def _expected_frames(config: Any) -> int | None:
    """Frames a Whisper-style encoder accepts: two per position (its convolutions' stride)."""
    positions = getattr(config, "max_source_positions", None)
    return 2 * int(positions) if positions else None


def _fit_frames(values: torch.Tensor, frames: int) -> torch.Tensor:
    if values.shape[-1] > frames:
        return values[..., :frames]
    padding = frames - values.shape[-1]
    return torch.nn.functional.pad(values, (0, padding), value=float(values.min()))
