"""Each tactic on tiny models built from configs: where it applies and what it builds."""

from __future__ import annotations

import copy

import pytest
import torch
import transformers

from scanner.tactics import (
    TacticContext,
    all_tactics,
    default_tactic_names,
    get_tactic,
    half_precision,
)
from scanner.tactics.pruning import MASKED_NOTE
from tests.tiny_models import tiny_bert_classifier

CPU_TEXT = TacticContext(device="cpu", task="text-classification", model_type="bert")


def tiny_distilbert() -> torch.nn.Module:
    torch.manual_seed(0)
    config = transformers.DistilBertConfig(
        vocab_size=100, dim=32, n_layers=3, n_heads=4, hidden_dim=64
    )
    return transformers.DistilBertModel(config).eval()


def tiny_vit() -> torch.nn.Module:
    torch.manual_seed(0)
    config = transformers.ViTConfig(
        image_size=32,
        patch_size=8,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        num_labels=5,
    )
    return transformers.ViTForImageClassification(config).eval()


def tiny_gpt2() -> torch.nn.Module:
    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=100, n_positions=32, n_embd=32, n_layer=2, n_head=4)
    return transformers.GPT2LMHeadModel(config).eval()


def token_inputs() -> dict[str, torch.Tensor]:
    ids = torch.randint(5, 100, (2, 8), generator=torch.Generator().manual_seed(0))
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}


def build(name: str, model: torch.nn.Module, ctx: TacticContext = CPU_TEXT):
    tactic = get_tactic(name)
    applicability = tactic.applies_to(model, ctx)
    assert applicability.applies, applicability.reason
    return tactic.build(copy.deepcopy(model), ctx)


def params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_every_tactic_has_a_name_and_description() -> None:
    for name, tactic in all_tactics().items():
        assert tactic.name == name
        assert tactic.description


def test_default_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(half_precision, "_host_bf16_units", lambda: None)
    cpu = default_tactic_names("cpu")
    assert {"baseline", "dynamic-int8", "prune-global-25", "compile", "layer-drop-top-33"} <= set(
        cpu
    )
    assert not {"head-prune-25", "bf16", "fp16", "sdpa", "torchao-int8-dynamic"} & set(cpu)
    # bf16 runs by default on a CPU that multiplies bf16 matrices natively, fp16 never
    monkeypatch.setattr(half_precision, "_host_bf16_units", lambda: "amx_bf16")
    with_units = default_tactic_names("cpu")
    assert set(with_units) - set(cpu) == {"bf16"}
    notes = get_tactic("bf16").build(tiny_bert_classifier(), CPU_TEXT).notes
    assert notes == "bf16 on a CPU with bf16 matrix instructions (amx_bf16)"
    cuda = default_tactic_names("cuda")
    for name in (
        "fp16",
        "bf16",
        "compile",
        "torchao-int8-weight-only",
        "torchao-int8-dynamic",
        "torchao-float8",
        "layer-drop-top-33",
        "prune-global-25",
    ):
        assert name in cuda
    assert "dynamic-int8" not in cuda


@pytest.mark.parametrize(
    ("name", "kept"),
    [("layer-drop-top-33", 3), ("layer-drop-top-50", 2), ("layer-drop-alternate", 2)],
)
def test_layer_pruning_removes_layers_and_parameters(name: str, kept: int) -> None:
    model = tiny_bert_classifier(layers=4)
    built = build(name, model)
    assert len(built.model.bert.encoder.layer) == kept
    assert built.model.config.num_hidden_layers == kept
    assert params(built.model) < params(model)
    assert "structured" in built.notes
    with torch.inference_mode():
        assert built.model(**token_inputs()).logits.shape == (2, 3)


def test_layer_pruning_on_distilbert_and_vit() -> None:
    distil = build(
        "layer-drop-top-50",
        tiny_distilbert(),
        TacticContext("cpu", "feature-extraction", "distilbert"),
    )
    assert distil.model.config.n_layers == 2
    with torch.inference_mode():
        assert distil.model(**token_inputs()).last_hidden_state.shape == (2, 8, 32)
    vit_ctx = TacticContext("cpu", "image-classification", "vit")
    vit = build("layer-drop-alternate", tiny_vit(), vit_ctx)
    assert vit.model.config.num_hidden_layers == 1
    with torch.inference_mode():
        assert vit.model(pixel_values=torch.randn(2, 3, 32, 32)).logits.shape == (2, 5)


def test_layer_pruning_does_not_apply_to_generation_or_too_few_layers() -> None:
    gen = get_tactic("layer-drop-top-33").applies_to(
        tiny_gpt2(), TacticContext("cpu", "text-generation", "gpt2")
    )
    assert not gen.applies and "generative" in gen.reason
    two_layers = get_tactic("layer-drop-top-33").applies_to(
        tiny_bert_classifier(layers=2), CPU_TEXT
    )
    assert not two_layers.applies and "none would be dropped" in two_layers.reason


def test_layer_pruning_says_why_for_unknown_layouts() -> None:
    reason = get_tactic("layer-drop-top-50").applies_to(
        torch.nn.Sequential(torch.nn.Linear(4, 4)), CPU_TEXT
    )
    assert not reason.applies and "no encoder layer list" in reason.reason


@pytest.mark.parametrize(
    ("factory", "ctx", "inputs"),
    [
        (tiny_bert_classifier, CPU_TEXT, token_inputs),
        (tiny_distilbert, TacticContext("cpu", "feature-extraction", "distilbert"), token_inputs),
        (
            tiny_vit,
            TacticContext("cpu", "image-classification", "vit"),
            lambda: {"pixel_values": torch.randn(2, 3, 32, 32)},
        ),
    ],
)
def test_head_pruning_removes_a_quarter_of_heads(factory, ctx, inputs) -> None:
    model = factory()
    built = build("head-prune-25", model, ctx)
    assert params(built.model) < params(model)
    assert "kept 3" in built.notes or "of" in built.notes
    with torch.inference_mode():
        out = built.model(**inputs())
        ref = model(**inputs())
    key = "logits" if hasattr(out, "logits") else "last_hidden_state"
    assert getattr(out, key).shape == getattr(ref, key).shape


def test_head_pruning_keeps_the_heads_with_the_largest_output_weights() -> None:
    from scanner.tactics.head_pruning import heads_to_keep

    weight = torch.ones(4, 8)  # 4 heads of size 2
    weight[:, 2:4] = 0.0  # head 1 contributes nothing
    assert heads_to_keep(weight, heads=4, head_size=2, fraction=0.25) == [0, 2, 3]


def test_head_pruning_says_why_without_attention() -> None:
    result = get_tactic("head-prune-25").applies_to(
        torch.nn.Sequential(torch.nn.Linear(4, 4)), CPU_TEXT
    )
    assert not result.applies and "prune_heads" in result.reason


@pytest.mark.parametrize(("scope", "amount"), [("global", 25), ("global", 50), ("local", 25)])
def test_masked_pruning_zeroes_the_stated_fraction_and_says_it_saves_nothing(
    scope: str, amount: int
) -> None:
    model = tiny_bert_classifier()
    built = build(f"prune-{scope}-{amount}", model)
    linears = [m for m in built.model.modules() if isinstance(m, torch.nn.Linear)]
    total = sum(m.weight.numel() for m in linears)
    zeros = sum(int((m.weight == 0).sum()) for m in linears)
    assert zeros / total == pytest.approx(amount / 100, abs=0.01)
    assert params(built.model) == params(model)  # masked: nothing removed
    assert built.notes == MASKED_NOTE and "no energy is saved" in built.notes
    if scope == "local":
        for layer in linears:
            share = float((layer.weight == 0).float().mean())
            assert share == pytest.approx(amount / 100, abs=0.02)


def test_dynamic_int8_on_cpu_builds_quantized_linears() -> None:
    built = build("dynamic-int8", tiny_bert_classifier())
    assert built.dtype == "int8-dynamic"
    assert not any(type(m) is torch.nn.Linear for m in built.model.modules())
    with torch.inference_mode():
        assert built.model(**token_inputs()).logits.shape == (2, 3)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("torchao-int8-weight-only", "GPU only"),
        ("torchao-int8-dynamic", "slower than fp32 on CPU"),
        ("torchao-float8", "compute capability 8.9"),
        ("fp16", "GPU only"),
    ],
)
def test_gpu_tactics_do_not_apply_on_cpu_and_say_why(name: str, words: str) -> None:
    result = get_tactic(name).applies_to(tiny_bert_classifier(), CPU_TEXT)
    assert not result.applies
    assert words in result.reason


def test_float8_needs_ada_or_newer() -> None:
    a100 = TacticContext("cuda", "text-classification", "bert", compute_capability=(8, 0))
    result = get_tactic("torchao-float8").applies_to(tiny_bert_classifier(), a100)
    assert not result.applies and "8.9" in result.reason and "8.0" in result.reason
    dynamic = get_tactic("dynamic-int8").applies_to(tiny_bert_classifier(), a100)
    assert not dynamic.applies and "torchao" in dynamic.reason


def test_bf16_on_a_cpu_without_bf16_units_is_opt_in_with_a_note(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(half_precision, "_host_bf16_units", lambda: None)
    assert "cpu" not in get_tactic("bf16").default_on
    built = build("bf16", tiny_bert_classifier())
    assert built.input_dtype is torch.bfloat16
    assert "emulated, asked for" in built.notes
    with torch.inference_mode():
        assert built.model(**token_inputs()).logits.shape == (2, 3)


def test_sdpa_applies_only_when_the_model_is_not_on_sdpa() -> None:
    model = tiny_bert_classifier()
    already = get_tactic("sdpa").applies_to(model, CPU_TEXT)
    assert not already.applies and "already" in already.reason
    model.set_attn_implementation("eager")
    assert get_tactic("sdpa").applies_to(model, CPU_TEXT).applies
    built = build("sdpa", model)
    assert built.model.config._attn_implementation == "sdpa"
    with torch.inference_mode():
        assert built.model(**token_inputs()).logits.shape == (2, 3)


def test_compile_does_not_apply_to_generation() -> None:
    result = get_tactic("compile").applies_to(
        tiny_gpt2(), TacticContext("cpu", "text-generation", "gpt2")
    )
    assert not result.applies and result.reason


def test_state_dict_size_counts_structured_pruning_and_tensor_subclasses() -> None:
    from scanner.benchmark import _state_dict_mb, _tensor_bytes

    model = tiny_bert_classifier()
    dropped = build("layer-drop-top-50", model).model
    masked = build("prune-global-50", model).model
    assert _state_dict_mb(dropped) < _state_dict_mb(model)
    assert _state_dict_mb(masked) == pytest.approx(_state_dict_mb(model), rel=0.01)
    assert _tensor_bytes(torch.zeros(10, dtype=torch.float16)) == 20


@pytest.mark.parametrize(
    ("cpuinfo", "units"),
    [
        # a Sapphire Rapids Xeon: AMX and AVX-512 BF16; AMX comes first
        ("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16 amx_bf16 amx_tile\n", "amx_bf16"),
        # a Zen 4 EPYC: AVX-512 BF16, no AMX
        ("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16\n", "avx512_bf16"),
        # a Zen 3 EPYC: AVX2 only, bf16 would be emulated
        ("processor\t: 0\nflags\t\t: fpu avx2 fma\n", None),
        # a Graviton 3 (Arm): the BFloat16 feature
        ("processor\t: 0\nFeatures\t: fp asimd sve bf16 i8mm\n", "bf16"),
        # not a flag that merely contains the letters
        ("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16x\n", None),
    ],
)
def test_bf16_units_are_read_from_cpuinfo_flags(tmp_path, cpuinfo: str, units: str | None) -> None:
    path = tmp_path / "cpuinfo"
    path.write_text(cpuinfo)
    assert half_precision.cpu_bf16_units(path) == units
    assert half_precision.cpu_bf16_units(tmp_path / "missing") is None
