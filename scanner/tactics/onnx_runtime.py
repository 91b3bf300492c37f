"""ONNX Runtime variants: the model exported to ONNX and run in an ORT session.

Exporting to ONNX and serving with ONNX Runtime is how many CPU users deploy a transformer,
so the label measures that path too. The variant is a `torch.nn.Module` whose forward feeds
the ORT session and returns the output field the task adapters read (`logits`,
`last_hidden_state`) as a torch tensor: the benchmark measures, pairs and quality-gates it
like any other variant.

The export uses `torch.onnx.export(dynamo=True)` (it needs `onnxscript`), not optimum-onnx:
optimum-onnx 0.1.0 pins transformers < 4.58 and optimum ~= 2.1, and we run transformers 5.
Not the legacy TorchScript exporter either: tracing runs transformers 5's mask code with
the example's mask, bakes the result in as a constant, and padded inputs then come out
wrong (0.01 off on a tiny BERT's logits, against 3e-9 with the dynamo exporter).
Batch and sequence axes are dynamic, so the quality batches (other shapes) run too.

The build writes the model to a private temporary folder that lives as long as the
variant; its bytes on disk are the variant's size and part of its build cost.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import re
import shutil
import tempfile
import time
import warnings
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from labels.tactic_kinds import TacticKind
from scanner.cpu_quota import cpu_allowance
from scanner.tactics.base import (
    APPLIES,
    Applicability,
    BuiltVariant,
    Tactic,
    TacticContext,
)

# The output field each supported task's adapter reads from the model's outputs.
OUTPUT_FIELDS = {
    "feature-extraction": "last_hidden_state",
    "sentence-similarity": "last_hidden_state",  # pooled by the adapter, as the library does
    "fill-mask": "logits",
    "text-classification": "logits",
    "token-classification": "logits",
    "image-classification": "logits",
}
# What the ONNX path imports: the runtime, the format, and the exporter's dependency.
RUNTIME_MODULES = ("onnxruntime", "onnx", "onnxscript")
CUDA_PROVIDER = "CUDAExecutionProvider"
CPU_PROVIDER = "CPUExecutionProvider"
# ORT's worker threads spin on the CPU after each operator and each run, waiting for more
# work; the spinning is CPU time (energy) spent on nothing, and it runs on into whatever is
# measured next. Off, as Windows ML ships ORT, and as ORT's threading guide offers.
NO_SPINNING = {"session.intra_op.allow_spinning": "0", "session.inter_op.allow_spinning": "0"}
# Above this the protobuf file limit (2 GiB) is near: weights go to an external data file.
EXTERNAL_DATA_BYTES = 1_800_000_000
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class OnnxExportError(RuntimeError):
    """The model could not be exported to ONNX; the message is the one-line reason."""


def runtime_missing() -> str | None:
    """Why the ONNX path cannot run in this environment, or None when it can."""
    for module in RUNTIME_MODULES:
        try:
            importlib.import_module(module)
        except ImportError:
            return f"{module} is not installed (pip install {module})"
    return None


@dataclass(frozen=True)
class OnnxOutputs:
    """The fields of a transformers output that the task adapters read."""

    logits: torch.Tensor | None = None
    last_hidden_state: torch.Tensor | None = None


class OnnxSessionModel(torch.nn.Module):
    """An ORT inference session behind a transformers-like `forward(**inputs)`."""

    def __init__(
        self,
        session: Any,
        output_field: str,
        device: str,
        folder: Path,
        exported_inputs: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.session = session
        self.output_field = output_field
        self.device = torch.device(device)
        self.folder = folder
        self.input_names = [i.name for i in session.get_inputs()]
        # what the export was traced with (the graph may drop an input it never reads)
        self.exported_inputs = set(exported_inputs or self.input_names)
        # the exported files go when the variant does
        self._remove_folder = weakref.finalize(self, shutil.rmtree, folder, True)

    def forward(self, **inputs: Any) -> OnnxOutputs:
        given = {name for name, value in inputs.items() if isinstance(value, torch.Tensor)}
        missing = [name for name in self.input_names if name not in given]
        unknown = sorted(given - self.exported_inputs)
        if missing or unknown:
            # an input left out, or one the export never saw, would change the outputs
            raise ValueError(
                f"the ONNX model takes inputs {sorted(self.exported_inputs)}; got {sorted(given)}"
            )
        feed = {name: inputs[name].detach().cpu().numpy() for name in self.input_names}
        (output,) = self.session.run([self.output_field], feed)
        tensor = torch.from_numpy(output).to(self.device)
        return OnnxOutputs(**{self.output_field: tensor})


class _ExportForward(torch.nn.Module):
    """The model with positional tensor inputs and one output field, as ONNX wants it."""

    def __init__(self, model: torch.nn.Module, input_names: list[str], output_field: str):
        super().__init__()
        self.model = model
        self.input_names = input_names
        self.output_field = output_field

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        outputs = self.model(**dict(zip(self.input_names, tensors, strict=True)))
        return getattr(outputs, self.output_field)


class OnnxRuntimeVariant(Tactic):
    """Export to ONNX, optionally quantize or halve it, and run it with ONNX Runtime."""

    kind = TacticKind.RUNTIME

    def __init__(self, name: str, precision: str, description: str) -> None:
        self.name = name
        self.precision = precision  # fp32 | int8-dynamic | fp16
        self.description = description
        # opt-in on CPU: an export takes tens of seconds per model, too slow for every scan
        self.default_on = ("cuda",) if precision == "fp16" else ()

    def applies_to(self, model: torch.nn.Module, ctx: TacticContext) -> Applicability:
        if ctx.task not in OUTPUT_FIELDS:
            if ctx.task == "text-generation":
                return Applicability(
                    False,
                    "generation needs a decoding loop with a key-value cache in ONNX; "
                    "not exported in this version",
                )
            return Applicability(False, f"no ONNX export for task {ctx.task!r}")
        missing = runtime_missing()
        if missing:
            return Applicability(False, missing)
        if self.precision == "fp16":
            if not ctx.on_gpu:
                return Applicability(False, "ONNX fp16 runs on the CUDA provider; GPU only")
            import onnxruntime

            if CUDA_PROVIDER not in onnxruntime.get_available_providers():
                return Applicability(False, "this onnxruntime build has no CUDA provider")
        elif ctx.on_gpu:
            return Applicability(
                False, f"{self.name} runs on ONNX Runtime's CPU provider; on GPU see onnx-fp16"
            )
        return APPLIES

    def build(self, model: torch.nn.Module, ctx: TacticContext) -> BuiltVariant:
        import onnxruntime

        output_field = OUTPUT_FIELDS[ctx.task]
        inputs = export_inputs(model, ctx)
        folder = Path(tempfile.mkdtemp(prefix=f"labeler-{self.name}-"))
        try:
            started = time.perf_counter()
            path = export_onnx(model, inputs, output_field, folder / "model.onnx")
            export_s = time.perf_counter() - started
            steps = [f"exported with torch.onnx (dynamo) in {export_s:.1f} s"]
            if self.precision == "int8-dynamic":
                path = quantize_int8_dynamic(path, folder / "model.int8.onnx")
                steps.append("quantize_dynamic: int8 weights per channel, int8 activations")
            elif self.precision == "fp16":
                path = convert_fp16(path, folder / "model.fp16.onnx")
                steps.append("converted to fp16 (inputs and outputs stay as exported)")
            session = open_session(path, ctx)
        except Exception:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        disk_bytes = folder_bytes(folder)
        provider = session.get_providers()[0]
        steps.append(
            f"{disk_bytes / 2**20:.1f} MiB on disk; onnxruntime {onnxruntime.__version__} "
            f"{provider}, ORT_ENABLE_ALL, {torch.get_num_threads()} intra-op threads, "
            "no thread spinning"
        )
        dtype = {"fp32": "float32", "int8-dynamic": "int8-dynamic", "fp16": "fp16"}
        return BuiltVariant(
            OnnxSessionModel(session, output_field, ctx.device, folder, list(inputs)),
            dtype=dtype[self.precision],
            notes="; ".join(steps),
            disk_bytes=disk_bytes,
        )


def export_inputs(model: torch.nn.Module, ctx: TacticContext) -> dict[str, torch.Tensor]:
    """The tensors the export traces with: the benchmark's example inputs, or inputs made
    from the config; at least two items, since a batch of one would fix that axis at 1."""
    source: Mapping[str, Any] = ctx.example_inputs or config_inputs(model, ctx.task)
    # names starting with "_" are the adapter's own (a pooling mask), never the model's
    tensors = {
        k: v for k, v in source.items() if isinstance(v, torch.Tensor) and not k.startswith("_")
    }
    if not tensors:
        raise OnnxExportError("ONNX export needs example input tensors; none were given")
    return {k: v if v.shape[0] >= 2 else torch.cat([v, v]) for k, v in tensors.items()}


def config_inputs(model: torch.nn.Module, task: str) -> dict[str, torch.Tensor]:
    """Two items of inputs of the right names and dtypes, from the model's config alone."""
    config = getattr(model, "config", None)
    if task == "image-classification":
        size = getattr(config, "image_size", 224)
        size = size[0] if isinstance(size, (list, tuple)) else int(size)
        channels = int(getattr(config, "num_channels", 3))
        generator = torch.Generator().manual_seed(0)
        return {"pixel_values": torch.randn(2, channels, size, size, generator=generator)}
    vocab_size = int(getattr(config, "vocab_size", 1000))
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(0, vocab_size, (2, 8), generator=generator)
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}


def export_onnx(
    model: torch.nn.Module, inputs: dict[str, torch.Tensor], output_field: str, path: Path
) -> Path:
    """Export `model` to `path` with dynamic batch (and sequence, for token ids) axes."""
    names = list(inputs)
    device = next(iter(model.parameters()), torch.empty(0)).device
    batch = torch.export.Dim("batch")
    sequence = torch.export.Dim("sequence")
    shapes = tuple(
        {0: batch, 1: sequence} if t.dim() == 2 and not t.is_floating_point() else {0: batch}
        for t in inputs.values()
    )
    # a plain (not inference-mode) clone: the exporter traces with autograd's dispatch
    with torch.inference_mode(False), torch.no_grad():
        args = tuple(t.clone().to(device) for t in inputs.values())
        try:
            with _quiet_exporter():
                torch.onnx.export(
                    _ExportForward(model, names, output_field),
                    args,
                    str(path),
                    input_names=names,
                    output_names=[output_field],
                    dynamic_shapes=(shapes,),
                    dynamo=True,
                    external_data=_parameter_bytes(model) > EXTERNAL_DATA_BYTES,
                    verbose=False,
                )
        except Exception as exc:
            raise OnnxExportError(f"ONNX export failed: {_root_reason(exc)}") from exc
    return path


def quantize_int8_dynamic(source: Path, path: Path) -> Path:
    """ORT's dynamic quantization: int8 weights, activations quantized per call."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(source))
    # the exporter's shape annotations of a classifier head (Gemm, transB) contradict what
    # onnx's shape inference finds, and the quantizer re-runs it: let it infer them afresh
    del model.graph.value_info[:]
    with _quiet_exporter():
        quantize_dynamic(
            model,
            str(path),
            weight_type=QuantType.QInt8,
            per_channel=True,
            use_external_data_format=folder_bytes(source.parent) > EXTERNAL_DATA_BYTES,
        )
    _remove_model(source)  # the variant runs from the quantized file alone
    return path


def convert_fp16(source: Path, path: Path) -> Path:
    """Weights and activations in float16, inputs and outputs kept as exported."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    halved = convert_float_to_float16(onnx.load(str(source)), keep_io_types=True)
    large = folder_bytes(source.parent) > 2 * EXTERNAL_DATA_BYTES
    onnx.save(halved, str(path), save_as_external_data=large)
    _remove_model(source)
    return path


def open_session(path: Path, ctx: TacticContext) -> Any:
    """An ORT session with every graph optimisation, one thread per CPU this process may
    use (affinity and cgroup quota: scanner/cpu_quota.py), and threads that sleep, rather
    than spin, while they wait for work."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = cpu_allowance().usable_cpus
    options.inter_op_num_threads = 1
    for key, value in NO_SPINNING.items():
        options.add_session_config_entry(key, value)
    options.log_severity_level = 3  # errors only: the benchmark's log is the worker's stderr
    providers: list[Any] = [CPU_PROVIDER]
    if ctx.on_gpu:
        index = torch.device(ctx.device).index or 0
        providers = [(CUDA_PROVIDER, {"device_id": index}), CPU_PROVIDER]
    session = onnxruntime.InferenceSession(str(path), options, providers=providers)
    if ctx.on_gpu and CUDA_PROVIDER not in session.get_providers():
        # ORT falls back to the CPU silently when the CUDA libraries do not load
        raise RuntimeError("onnxruntime's CUDA provider did not load (CUDA or cuDNN missing?)")
    return session


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file())


def _remove_model(path: Path) -> None:
    """An ONNX file and its external data files (named after it by the exporter)."""
    for f in path.parent.glob(f"{path.name}*"):
        f.unlink()


def _parameter_bytes(model: torch.nn.Module) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())


def _root_reason(exc: BaseException) -> str:
    """The first line of the innermost cause: torch.onnx wraps it in a long banner."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    lines = [line.strip() for line in _ANSI.sub("", str(exc)).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:300]


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Keep torch.onnx's and ORT quantization's INFO and WARNING lines out of the worker's
    log (the "run pre-processing" hint, the dynamic-axis renames): errors still show."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "onnxscript")]
    loggers.append(logging.getLogger())  # onnxruntime.quantization logs on the root logger
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


ONNX_FP32 = OnnxRuntimeVariant(
    "onnx-fp32",
    "fp32",
    "Exported to ONNX (torch.onnx, dynamo) and run by ONNX Runtime's CPU provider with every "
    "graph optimisation (ORT_ENABLE_ALL: constant folding, fused attention and GELU).",
)
ONNX_INT8_DYNAMIC = OnnxRuntimeVariant(
    "onnx-int8-dynamic",
    "int8-dynamic",
    "Exported to ONNX and quantized with onnxruntime.quantization.quantize_dynamic (int8 "
    "weights per channel, activations per call), run by ONNX Runtime's CPU provider.",
)
ONNX_FP16 = OnnxRuntimeVariant(
    "onnx-fp16",
    "fp16",
    "Exported to ONNX, converted to float16, and run by ONNX Runtime's CUDA provider.",
)
