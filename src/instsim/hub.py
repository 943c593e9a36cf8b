"""Where a model's weights come from: bundled, a local folder, or the Hugging Face Hub.

* ``None`` (or ``"default"``): the model shipped inside the package
  (``instsim/models/default``), no network.
* an existing folder: ``config.json`` + ``model.safetensors`` as written by
  ``save_pretrained``.
* anything else: a Hub repo id, downloaded with huggingface_hub into its cache
  (``revision`` pins a branch, tag or commit; ``HF_HUB_OFFLINE=1`` and
  ``HF_ENDPOINT`` are honoured). Only safetensors are ever loaded.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

from .errors import InstsimError, ModelNotFoundError, ParameterError
from .model import CONFIG_NAME, CSN, WEIGHTS_NAME, missing_model_files, write_model_files

__all__ = [
    "CARD_METADATA",
    "DEFAULT_MODEL",
    "bundled_model_dir",
    "export_model",
    "load_model",
    "model_source",
]

#: Name of the bundled default model.
DEFAULT_MODEL = "default"


def bundled_model_dir(name: str = DEFAULT_MODEL) -> Path:
    """Folder of a model shipped inside the package (it may not exist)."""
    return Path(str(resources.files("instsim"))) / "models" / name


def model_source(name_or_path: str | os.PathLike | None) -> tuple[str, str]:
    """Classify ``name_or_path`` as ``("bundled", dir)``, ``("folder", dir)`` or ``("hub", repo_id)``."""
    if name_or_path is None or str(name_or_path) == DEFAULT_MODEL:
        return "bundled", str(bundled_model_dir())
    p = Path(name_or_path).expanduser()
    if p.is_dir():
        return "folder", str(p)
    text = str(name_or_path)
    looks_like_path = text.startswith((".", "/", "~")) or text.count("/") > 1 or "\\" in text
    if looks_like_path or p.suffix in (".json", ".safetensors"):
        raise ModelNotFoundError(
            f"model folder {text!r} does not exist; pass a folder holding {CONFIG_NAME} and "
            f"{WEIGHTS_NAME}, a Hugging Face Hub repo id such as 'user/model', or None for the "
            "bundled default"
        )
    return "hub", text


def load_model(
    name_or_path: str | os.PathLike | None = None,
    revision: str | None = None,
    device: str = "cpu",
    cache_dir: str | os.PathLike | None = None,
) -> tuple[CSN, str]:
    """Load a :class:`~instsim.model.CSN` from its source.

    Returns
    -------
    model : CSN
        In eval mode, on ``device``.
    model_id : str
        What was loaded (``"instsim/default"``, the folder, or the repo id).

    Raises
    ------
    ModelNotFoundError
        No bundled model, folder missing files, repo/revision/file not on the Hub,
        or offline with nothing cached.
    ModelMismatchError
        ``config.json`` and ``model.safetensors`` disagree.
    """
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    kind, where = model_source(name_or_path)
    if kind == "bundled":
        if not (Path(where) / WEIGHTS_NAME).is_file():
            raise ModelNotFoundError(
                "no default model is bundled with this instsim installation yet "
                f"(looked in {where}); pass a model folder or a Hub repo id to "
                "Extractor.from_pretrained(...), or train one with `instsim train`"
            )
        return CSN.from_pretrained(where, map_location=device), "instsim/default"
    if kind == "folder":
        return CSN.from_pretrained(where, map_location=device), where
    try:
        model = CSN.from_pretrained(
            where, revision=revision, cache_dir=cache_dir, map_location=device
        )
    except LocalEntryNotFoundError:
        raise ModelNotFoundError(
            f"model {where!r}{f' at revision {revision!r}' if revision else ''} is not in the "
            "local Hugging Face cache and cannot be downloaded (offline: HF_HUB_OFFLINE is set "
            "or the Hub is unreachable); connect once or pass a local model folder"
        ) from None
    except OfflineModeIsEnabled:
        raise ModelNotFoundError(
            f"model {where!r} is not cached and HF_HUB_OFFLINE is set"
        ) from None
    except RevisionNotFoundError:
        raise ModelNotFoundError(
            f"revision {revision!r} of Hub repo {where!r} does not exist"
        ) from None
    except RepositoryNotFoundError:
        raise ModelNotFoundError(
            f"Hub repo {where!r} does not exist or is private (and no local folder of that name "
            "exists)"
        ) from None
    except EntryNotFoundError:
        raise ModelNotFoundError(
            f"Hub repo {where!r} has no {CONFIG_NAME} + {WEIGHTS_NAME}; it is not an instsim model"
        ) from None
    except HfHubHTTPError as exc:
        raise ModelNotFoundError(f"downloading model {where!r} failed: {exc}") from None
    except InstsimError:
        raise
    return model, where


#: Hub metadata of an exported model's card; a card's own YAML header and ``card_metadata``
#: override it.
CARD_METADATA: dict = {
    "library_name": "instsim",
    "license": "mit",
    "pipeline_tag": "feature-extraction",
    "tags": ["audio", "music", "music-similarity", "instsim"],
}


def export_model(
    source: str | os.PathLike,
    destination: str | os.PathLike,
    *,
    dtype: str = "float16",
    model_card: str | os.PathLike | None = None,
    card_metadata: dict | None = None,
) -> Path:
    """Write a compact, publishable copy of a model folder.

    The copy holds ``config.json``, ``model.safetensors`` (weights cast to ``dtype``;
    float16 halves the size and keeps embeddings within about 1e-3), written by
    :func:`instsim.model.write_model_files` like every model save, and, when
    ``model_card`` is given, a ``README.md``: that Markdown as a
    :class:`huggingface_hub.ModelCard` whose metadata is :data:`CARD_METADATA`, then
    the file's own YAML header, then ``card_metadata``. The folder can be pushed to
    the Hub as it is (``huggingface_hub.upload_folder`` or ``Extractor.push_to_hub``).

    Parameters
    ----------
    source : path
        A model folder (``save_pretrained`` output).
    destination : path
        Created if needed; existing files of the same names are replaced.
    dtype : {"float16", "bfloat16", "float32"}
    model_card : path or None
        A Markdown file to use as the model card (it may start with a YAML header).
    card_metadata : dict or None
        Extra Hub metadata for the card (``license``, ``tags``, ``datasets`` ...).

    Raises
    ------
    ParameterError
        ``dtype`` is not one of the three.
    ModelNotFoundError
        ``source`` lacks ``config.json`` or ``model.safetensors``, or ``model_card`` is missing.
    """
    import torch
    from safetensors.torch import load_file

    dtypes = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}
    if dtype not in dtypes:
        raise ParameterError("dtype", f"got {dtype!r}; valid: {', '.join(map(repr, dtypes))}")
    src = Path(source)
    missing = missing_model_files(src)
    if missing:
        raise ModelNotFoundError(f"model folder {str(src)!r} lacks {', '.join(missing)}")
    if model_card is not None and not Path(model_card).is_file():
        raise ModelNotFoundError(f"model card {str(model_card)!r} does not exist")
    tensors = {
        k: (v.to(dtypes[dtype]) if v.is_floating_point() else v)
        for k, v in load_file(str(src / WEIGHTS_NAME)).items()
    }
    config = json.loads((src / CONFIG_NAME).read_text(encoding="utf-8"))
    dst = write_model_files(destination, config, tensors, metadata={"dtype": dtype})
    if model_card is not None:
        from huggingface_hub import ModelCard, ModelCardData

        card = ModelCard.load(Path(model_card))
        card.data = ModelCardData(
            **{**CARD_METADATA, **card.data.to_dict(), **(card_metadata or {})}
        )
        card.save(dst / "README.md")
    return dst
