"""rag.models.cpu: the CPU's name, cores and the flags that pick a runtime."""

from __future__ import annotations

from pathlib import Path

from rag.models.cpu import CpuInfo, parse_cpuinfo, read_cpu_info

_ZEN3 = """processor\t: {n}
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC
physical id\t: 0
core id\t\t: {n}
flags\t\t: fpu sse sse2 fma avx avx2 bmi2 sha_ni vaes
"""

_SAPPHIRE_RAPIDS = """processor\t: {n}
model name\t: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
physical id\t: 0
core id\t\t: 0
flags\t\t: fma avx2 avx512f avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8
"""


def test_amd_zen3_has_avx2_and_no_amx():
    info = parse_cpuinfo("\n".join(_ZEN3.format(n=n) for n in range(2)), usable_cores=2)
    assert (info.model, info.logical_cores, info.physical_cores, info.usable_cores) == ("AMD EPYC", 2, 2, 2)
    assert info.flags == ("avx2", "fma")
    assert not info.amx and not info.fast_bf16
    assert info.describe() == "AMD EPYC: 2 logical / 2 physical cores (2 usable); avx2 fma"


def test_sapphire_rapids_two_threads_of_one_core_have_amx():
    info = parse_cpuinfo("\n".join(_SAPPHIRE_RAPIDS.format(n=n) for n in range(2)), torch_capability="AVX512")
    assert (info.logical_cores, info.physical_cores) == (2, 1)
    assert info.amx and info.fast_bf16 and info.avx512_vnni and info.amx_int8
    assert info.describe().endswith("amx_tile amx_bf16 amx_int8; torch AVX512")


def test_no_proc_cpuinfo_falls_back_to_the_standard_library(tmp_path: Path):
    info = read_cpu_info(cpuinfo=tmp_path / "missing")
    assert isinstance(info, CpuInfo) and info.logical_cores >= 1 and info.model


def test_this_machine():
    info = read_cpu_info(import_torch=True)
    assert info.logical_cores >= info.usable_cores >= 1
    assert info.torch_capability          # torch is installed here
    assert info.model in info.describe()
