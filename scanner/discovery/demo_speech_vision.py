"""The demo's tiny speech and vision models (Whisper, YOLOS, CLIP) and the files they need.

Each is built from a transformers config with seed 0, like the other synthetic demo models;
Whisper also gets the `preprocessor_config.json` of its feature extractor and CLIP a small
WordPiece tokenizer, both written offline, so the demo exercises the paths a Hub model takes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

SPEECH_VISION_MODELS = {
    "synthetic/tiny-whisper-speech-recognition": "automatic-speech-recognition",
    "synthetic/tiny-yolos-object-detection": "object-detection",
    "synthetic/tiny-clip-zero-shot-image-classification": "zero-shot-image-classification",
}
# CLIP's tokenizer: the reserved tokens first, so [CLS] is 2 and [SEP], where CLIP pools, 3
_RESERVED = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def speech_vision_builders() -> dict[str, Callable[[], Any]]:
    """Model id -> a function building its module with random weights."""
    import transformers

    return {
        "synthetic/tiny-whisper-speech-recognition": lambda: (
            transformers.WhisperForConditionalGeneration(
                transformers.WhisperConfig(
                    vocab_size=16,
                    num_mel_bins=80,
                    d_model=64,
                    encoder_layers=2,
                    decoder_layers=2,
                    encoder_attention_heads=4,
                    decoder_attention_heads=4,
                    encoder_ffn_dim=128,
                    decoder_ffn_dim=128,
                    max_source_positions=1500,
                    max_target_positions=64,
                    pad_token_id=0,
                    bos_token_id=1,
                    eos_token_id=2,
                    decoder_start_token_id=3,
                    init_std=0.2,  # peaked logits, as a trained model's are
                )
            )
        ),
        "synthetic/tiny-yolos-object-detection": _tiny_yolos,
        "synthetic/tiny-clip-zero-shot-image-classification": lambda: transformers.CLIPModel(
            transformers.CLIPConfig(
                text_config={
                    "vocab_size": len(clip_vocabulary()),
                    "hidden_size": 64,
                    "intermediate_size": 128,
                    "num_hidden_layers": 2,
                    "num_attention_heads": 4,
                    "max_position_embeddings": 32,
                    "pad_token_id": 0,
                    "bos_token_id": 2,
                    "eos_token_id": 3,
                },
                vision_config={
                    "hidden_size": 64,
                    "intermediate_size": 128,
                    "num_hidden_layers": 2,
                    "num_attention_heads": 4,
                    "image_size": 64,
                    "patch_size": 16,
                },
                projection_dim=32,
            )
        ),
    }


def _tiny_yolos() -> Any:
    """YOLOS initialises its detection tokens and position embeddings to zeros, so every
    query of an untrained model would answer alike; trained ones differ, so these are drawn."""
    import torch
    import transformers

    model = transformers.YolosForObjectDetection(
        transformers.YolosConfig(
            hidden_size=64,
            num_hidden_layers=4,
            num_attention_heads=4,
            intermediate_size=128,
            image_size=[64, 64],
            patch_size=16,
            num_detection_tokens=20,
            num_labels=10,
        )
    )
    embeddings = model.vit.embeddings
    with torch.no_grad():
        for parameter in (embeddings.cls_token, embeddings.detection_tokens):
            parameter.normal_(std=1.0)
        embeddings.position_embeddings.normal_(std=0.1)
    return model


def write_speech_vision_files(model_id: str, path: Path) -> None:
    """The preprocessor or tokenizer files a speech or vision demo model needs."""
    if model_id == "synthetic/tiny-whisper-speech-recognition":
        from transformers import WhisperFeatureExtractor

        WhisperFeatureExtractor(feature_size=80).save_pretrained(path)
    elif model_id == "synthetic/tiny-clip-zero-shot-image-classification":
        from transformers import BertTokenizerFast

        vocabulary = {word: index for index, word in enumerate(clip_vocabulary())}
        # transformers 5 reads `vocab=` (a `vocab_file=` argument is ignored: all [UNK])
        BertTokenizerFast(vocab=vocabulary, do_lower_case=True).save_pretrained(path)


def clip_vocabulary() -> list[str]:
    from scanner.tasks.zero_shot_image_classification import LABEL_PROMPTS

    words = sorted({w for prompt in LABEL_PROMPTS for w in prompt.split()})
    return [*_RESERVED, *words]
