"""What the CPU offers, read at run time: the embedder picks its runtime and
precision from it, and every benchmark prints it.

The build machines are not all alike (an AMD EPYC with AVX2 and FMA only; an
Intel Sapphire Rapids with AVX-512, VNNI and AMX), and the fastest precision
differs between them: bf16 autocast was 2.2x faster than fp32 on the Intel
machine and 5.9x slower on the AMD one. So nothing here is assumed at build
time; :func:`read_cpu_info` looks each time a process asks.

Linux: ``/proc/cpuinfo``. Elsewhere: :mod:`platform` and ``os.cpu_count()``
for the name and the cores, and torch's own view of the vector unit (when
torch is loaded) for the flags.
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CpuInfo", "read_cpu_info", "parse_cpuinfo"]

PROC_CPUINFO = Path("/proc/cpuinfo")

# The instruction-set flags that change which runtime or precision is fastest.
FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")


@dataclass(frozen=True)
class CpuInfo:
    """The CPU as this process sees it."""

    model: str                         # "AMD EPYC", "Intel(R) Xeon(R) Platinum 8481C", ...
    logical_cores: int                 # hardware threads the OS shows
    physical_cores: int                # distinct (socket, core) pairs
    usable_cores: int                  # the ones this process may run on (affinity, e.g. a container's share)
    avx2: bool = False
    fma: bool = False
    avx512f: bool = False
    avx512_vnni: bool = False
    avx512_bf16: bool = False
    amx_tile: bool = False
    amx_bf16: bool = False
    amx_int8: bool = False
    torch_capability: str | None = None    # torch.backends.cpu.get_cpu_capability(): "AVX2", "AVX512", ...

    @property
    def flags(self) -> tuple[str, ...]:
        """The flags of :data:`FLAGS` this CPU has, in that order."""
        return tuple(f for f in FLAGS if getattr(self, f))

    @property
    def amx(self) -> bool:
        """bf16 matrix tiles: where bf16 compute beats fp32 (not emulated)."""
        return self.amx_tile and self.amx_bf16

    @property
    def fast_bf16(self) -> bool:
        """bf16 arithmetic in hardware (AMX, or AVX-512 BF16)."""
        return self.amx or self.avx512_bf16

    def describe(self) -> str:
        """One line for logs and benchmark output."""
        flags = " ".join(self.flags) or "no avx2"
        torch = f"; torch {self.torch_capability}" if self.torch_capability else ""
        return (f"{self.model}: {self.logical_cores} logical / {self.physical_cores} physical cores "
                f"({self.usable_cores} usable); {flags}{torch}")


def parse_cpuinfo(text: str, *, usable_cores: int | None = None,
                  torch_capability: str | None = None) -> CpuInfo:
    """A :class:`CpuInfo` from the text of ``/proc/cpuinfo`` (x86 or ARM)."""
    processors: list[dict[str, str]] = []
    for block in text.strip().split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                fields[key.strip().lower()] = value.strip()
        if "processor" in fields:
            processors.append(fields)
    if not processors:
        raise ValueError("no 'processor' entries in the cpuinfo text")
    first = processors[0]
    model = first.get("model name") or first.get("hardware") or first.get("cpu model") or platform.machine() or "unknown CPU"
    flags = set((first.get("flags") or first.get("features") or "").split())
    cores = {(p.get("physical id", "0"), p.get("core id", p["processor"])) for p in processors}
    logical = len(processors)
    return CpuInfo(model=model, logical_cores=logical, physical_cores=min(len(cores), logical),
                   usable_cores=usable_cores or logical, torch_capability=torch_capability,
                   **{f: f in flags for f in FLAGS})


def read_cpu_info(*, import_torch: bool = False, cpuinfo: Path = PROC_CPUINFO) -> CpuInfo:
    """The CPU of this machine.

    ``torch_capability`` is filled when torch is already imported, or when
    ``import_torch`` asks for it and torch is installed (importing torch takes
    seconds; the ONNX path of the embedder does not need it).
    """
    capability = _torch_capability(import_torch)
    usable = _usable_cores()
    try:
        return parse_cpuinfo(cpuinfo.read_text("utf-8", errors="replace"), usable_cores=usable,
                             torch_capability=capability)
    except (OSError, ValueError):
        return _fallback(usable, capability)


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _torch_capability(import_torch: bool) -> str | None:
    if "torch" not in sys.modules and not import_torch:
        return None
    try:
        import torch

        return str(torch.backends.cpu.get_cpu_capability())
    except Exception:  # torch missing or too old to say: the flags still come from cpuinfo
        return None


def _fallback(usable: int, capability: str | None) -> CpuInfo:
    """No /proc/cpuinfo (macOS, Windows): name and cores from the standard
    library, the vector unit from torch's capability string when known."""
    logical = os.cpu_count() or usable
    cap = (capability or "").upper()
    avx512 = cap.startswith("AVX512")
    avx2 = avx512 or cap == "AVX2"
    return CpuInfo(model=platform.processor() or platform.machine() or "unknown CPU", logical_cores=logical,
                   physical_cores=logical, usable_cores=usable, avx2=avx2, fma=avx2, avx512f=avx512,
                   torch_capability=capability)
