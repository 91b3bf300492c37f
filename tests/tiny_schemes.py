"""The shipped schemes with tiny reference models, for tests that scan but do not study v2.

Measuring BERT-base beside every tiny test model would add minutes to the suite. This
writes a schemes folder (`LABELER_SCHEMES_DIR`) holding v1 as shipped and v2 as shipped
except that each reference config is a tiny model of the same architecture, with its hash
recomputed: the whole v2 path (build, pairs, hash check, grading) runs, only smaller.
Tests about the real references load `labels/schemes/` explicitly.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from labels.scheme import SCHEMES_DIR

TINY_CONFIGS = {
    "bert-base-encoder.json": {
        "model_type": "bert", "hidden_size": 32, "num_hidden_layers": 2,
        "num_attention_heads": 2, "intermediate_size": 37, "max_position_embeddings": 512,
        "vocab_size": 1000, "num_labels": 2,
    },
    "vit-base-patch16-224.json": {
        "model_type": "vit", "hidden_size": 32, "num_hidden_layers": 2,
        "num_attention_heads": 2, "intermediate_size": 37, "image_size": 32, "patch_size": 8,
        "num_channels": 3, "num_labels": 10,
    },
    "gpt2-decoder.json": {
        "model_type": "gpt2", "n_embd": 32, "n_layer": 2, "n_head": 2, "n_positions": 128,
        "vocab_size": 1000,
    },
    "t5-small-encoder-decoder.json": {
        "model_type": "t5", "d_model": 32, "d_kv": 8, "d_ff": 64, "num_layers": 2,
        "num_decoder_layers": 2, "num_heads": 4, "vocab_size": 1000, "pad_token_id": 0,
        "eos_token_id": 1, "decoder_start_token_id": 0,
    },
    # speech and vision (issue 10b)
    "whisper-base.json": {
        "model_type": "whisper", "vocab_size": 600, "num_mel_bins": 80, "d_model": 32,
        "encoder_layers": 1, "decoder_layers": 1, "encoder_attention_heads": 2,
        "decoder_attention_heads": 2, "encoder_ffn_dim": 37, "decoder_ffn_dim": 37,
        "max_source_positions": 1500, "max_target_positions": 64, "pad_token_id": 0,
        "bos_token_id": 1, "eos_token_id": 2, "decoder_start_token_id": 3,
    },
    "detr-resnet-50.json": {
        "model_type": "detr", "use_timm_backbone": False, "use_pretrained_backbone": False,
        "backbone_config": {
            "model_type": "resnet", "embedding_size": 8, "hidden_sizes": [8, 16],
            "depths": [1, 1], "layer_type": "basic", "out_features": ["stage2"],
        },
        "d_model": 32, "encoder_layers": 1, "decoder_layers": 1, "encoder_attention_heads": 2,
        "decoder_attention_heads": 2, "encoder_ffn_dim": 37, "decoder_ffn_dim": 37,
        "num_queries": 10, "num_labels": 5,
    },
    "clip-vit-base-patch32.json": {
        "model_type": "clip", "projection_dim": 16,
        "text_config": {
            "vocab_size": 1000, "hidden_size": 32, "intermediate_size": 37,
            "num_hidden_layers": 1, "num_attention_heads": 2, "max_position_embeddings": 32,
            "bos_token_id": 998, "eos_token_id": 999, "pad_token_id": 1,
        },
        "vision_config": {
            "hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 1,
            "num_attention_heads": 2, "image_size": 32, "patch_size": 8,
        },
    },
}  # fmt: skip


def write_tiny_schemes(folder: Path) -> Path:
    """`folder` with v1.toml and a v2.toml whose reference models are tiny."""
    (folder / "v2").mkdir(parents=True, exist_ok=True)
    shutil.copy(SCHEMES_DIR / "v1.toml", folder / "v1.toml")
    text = (SCHEMES_DIR / "v2.toml").read_text(encoding="utf-8")
    for name, config in TINY_CONFIGS.items():
        shipped = hashlib.sha256((SCHEMES_DIR / "v2" / name).read_bytes()).hexdigest()
        tiny_file = folder / "v2" / name
        tiny_file.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        tiny = hashlib.sha256(tiny_file.read_bytes()).hexdigest()
        text = text.replace(shipped, tiny)
    (folder / "v2.toml").write_text(text, encoding="utf-8")
    return folder
