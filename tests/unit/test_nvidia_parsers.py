"""nvidia-smi parsers against the real H100 output in tests/fixtures, plus edge cases."""

from __future__ import annotations

import pytest

from geusemaker.health.nvidia import (
    GpuReading,
    NvidiaSmiError,
    check_output,
    parse_compute_apps,
    parse_list,
    parse_proc_version,
    parse_query_gpu,
    parse_topology,
    parse_versions,
    parse_xml,
)
from tests.conftest import FIXTURES

H100 = FIXTURES / "nvidia-smi" / "h100"
Q = (
    "index,name,uuid,pci.bus_id,driver_version,memory.total,memory.used,memory.free,utilization.gpu,"
    "utilization.memory,temperature.gpu,power.draw,power.limit,pstate,clocks.sm,clocks.max.sm,"
    "ecc.errors.uncorrected.volatile.total,persistence_mode,compute_mode"
)
EXPECTED = GpuReading(
    index=0, name="NVIDIA H100 80GB HBM3", uuid="GPU-00000000-1111-2222-3333-444444444444",
    pci_bus_id="00000000:00:06.0", driver_version="580.159.04", memory_total_mib=81559.0, memory_used_mib=0.0,
    memory_free_mib=81079.0, utilization_gpu_pct=0.0, utilization_memory_pct=0.0, temperature_c=37.0,
    power_draw_w=123.48, power_limit_w=700.0, pstate="P0", clocks_sm_mhz=1980.0, clocks_max_sm_mhz=1980.0,
    ecc_errors_uncorrected=0, persistence_mode="Enabled", compute_mode="Default",
)  # fmt: skip


def test_query_with_header_and_units() -> None:
    assert parse_query_gpu((H100 / "query_csv_header.csv").read_text()) == [EXPECTED]


def test_query_without_header_needs_the_field_list() -> None:
    text = (H100 / "query_csv_noheader_nounits.csv").read_text()
    reading = parse_query_gpu(text, Q)[0]
    assert reading == GpuReading(**{**EXPECTED.__dict__, "power_draw_w": 123.46})
    with pytest.raises(NvidiaSmiError, match="not an nvidia-smi CSV header"):
        parse_query_gpu(text)


def test_any_subset_and_order_of_fields() -> None:
    text = "temperature.gpu, name, memory.used [MiB]\n41, NVIDIA A10G, 512 MiB\n"
    assert parse_query_gpu(text) == [GpuReading(temperature_c=41.0, name="NVIDIA A10G", memory_used_mib=512.0)]


def test_several_gpus_and_missing_values() -> None:
    text = (
        "index, name, power.draw [W], ecc.errors.uncorrected.volatile.total, utilization.gpu [%]\n"
        "0, Tesla T4, [N/A], [Not Supported], 3 %\n"
        "1, Tesla T4, 27.51 W, 2, [Unknown Error]\n"
    )
    first, second = parse_query_gpu(text)
    assert (first.index, first.power_draw_w, first.ecc_errors_uncorrected, first.utilization_gpu_pct) == (
        0,
        None,
        None,
        3.0,
    )
    assert (second.index, second.power_draw_w, second.ecc_errors_uncorrected, second.utilization_gpu_pct) == (
        1,
        27.51,
        2,
        None,
    )


def test_driver_failure_is_recognised() -> None:
    text = (
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest "
        "NVIDIA driver is installed and running.\n"
    )
    with pytest.raises(NvidiaSmiError) as caught:
        parse_query_gpu(text)
    assert caught.value.driver_failure
    assert "NVIDIA driver not loaded" in str(caught.value)
    with pytest.raises(NvidiaSmiError) as by_code:
        check_output("", 9)
    assert by_code.value.driver_failure


def test_invalid_field_and_garbage() -> None:
    with pytest.raises(NvidiaSmiError, match=r'Field "bogus\.field" is not a valid field'):
        parse_query_gpu((H100 / "bad_field.txt").read_text())
    with pytest.raises(NvidiaSmiError):
        parse_query_gpu("hello world\n1, 2\n")
    with pytest.raises(NvidiaSmiError, match="expected 2 values"):
        parse_query_gpu("name, memory.total [MiB]\nNVIDIA A10G\n")
    with pytest.raises(NvidiaSmiError, match="not a number"):
        parse_query_gpu("temperature.gpu\nhot\n")
    with pytest.raises(NvidiaSmiError, match="exited with 4"):
        check_output("something", 4)
    with pytest.raises(NvidiaSmiError, match="not installed"):
        check_output("bash: nvidia-smi: command not found", 127)


def test_list() -> None:
    gpus = parse_list((H100 / "list.txt").read_text())
    assert [(g.index, g.name, g.uuid) for g in gpus] == [
        (0, "NVIDIA H100 80GB HBM3", "GPU-00000000-1111-2222-3333-444444444444")
    ]
    eight = "\n".join(f"GPU {i}: NVIDIA A100-SXM4-40GB (UUID: GPU-{i:08d})" for i in range(8))
    assert [g.index for g in parse_list(eight)] == list(range(8))
    with pytest.raises(NvidiaSmiError):
        parse_list("No devices were found? garbage")


def test_versions_from_plain_and_q_and_proc() -> None:
    assert parse_versions((H100 / "plain.txt").read_text()) == ("580.159.04", "13.0")
    assert parse_versions((H100 / "q.txt").read_text()) == ("580.159.04", "13.0")
    assert parse_proc_version((H100 / "proc_version.txt").read_text()) == "580.159.04"


def test_xml_report() -> None:
    report = parse_xml((H100 / "q.xml").read_text())
    assert (report.driver_version, report.cuda_version) == ("580.159.04", "13.0")
    assert report.gpus == (("NVIDIA H100 80GB HBM3", "GPU-00000000-1111-2222-3333-444444444444", 81559.0, 0.0),)
    with pytest.raises(NvidiaSmiError):
        parse_xml("<nvidia_smi_log")


def test_compute_apps_and_topology() -> None:
    assert parse_compute_apps((H100 / "compute_apps.csv").read_text()) == [(418, "python3", 14.0)]
    assert parse_topology((H100 / "topo.txt").read_text()) == {
        "GPU0": {"GPU0": "X", "CPU Affinity": "0-15", "NUMA Affinity": "0", "GPU NUMA ID": "N/A"}
    }
    with pytest.raises(NvidiaSmiError):
        parse_topology("Legend: nothing")
