"""Under CI a skipped test fails with its reason; expected failures stay expected.

The hooks of tests/conftest.py run here in a pytest of their own (``pytester``),
on a small file with every kind of skip and xfail, once with CI set and once
without; and an xfail that does not name its exception stops the run.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

CONFTEST = "from tests.conftest import pytest_make_collect_report, pytest_runtest_makereport\n"

CASES = """
import pytest

@pytest.fixture
def service():
    pytest.skip("no widget server in the fixture")

def test_passes():
    pass

def test_skips_in_the_body():
    pytest.skip("no widget server")

def test_skips_in_a_fixture(service):
    pass

@pytest.mark.skipif(True, reason="no widget server for the marker")
def test_skipif():
    pass

@pytest.mark.xfail(strict=True, raises=ValueError, reason="known gap")
def test_xfail():
    raise ValueError("known")

@pytest.mark.xfail(run=False, raises=ValueError, reason="not even run")
def test_xfail_not_run():
    pass

def test_imperative_xfail():
    pytest.xfail("known, said in the body")

@pytest.mark.xfail(strict=True, raises=ValueError, reason="fixed since")
def test_xpass_strict():
    pass

@pytest.mark.xfail(strict=True, raises=ValueError, reason="another error")
def test_xfail_wrong_error():
    raise KeyError("not the listed one")
"""


@pytest.fixture
def cases(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_cases=CASES)
    return pytester


@pytest.mark.parametrize("value", ["true", "1", "yes", "TRUE", "Yes"])
def test_under_ci_every_skip_fails_with_its_reason(
    cases: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CI", value)
    result = cases.runpytest("-ra")
    # The body skip and the two wrong xfails fail; the fixture and marker skips error
    # at setup; the xfails stay xfails.
    result.assert_outcomes(passed=1, failed=3, errors=2, xfailed=3)
    result.stdout.fnmatch_lines_random(
        [
            f"*skipped under CI={value}, where every service must be present: "
            "Skipped: no widget server",
            "*: Skipped: no widget server in the fixture",
            "*: no widget server for the marker",
            "*XPASS(strict)*fixed since*",
        ]
    )


@pytest.mark.parametrize("value", [None, "", "0", "false", "no"])
def test_outside_ci_a_skip_is_a_skip(
    cases: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    result = cases.runpytest("-ra")
    result.assert_outcomes(passed=1, failed=2, skipped=3, xfailed=3)
    result.stdout.no_fnmatch_line("*skipped under CI*")


def test_under_ci_a_module_skipped_at_collection_fails(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_module_skip="""
        import pytest
        pytest.skip("no widget library", allow_module_level=True)

        def test_never_collected():
            pass
        """
    )
    monkeypatch.setenv("CI", "true")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*skipped under CI=true*: no widget library*"])
    monkeypatch.delenv("CI")
    pytester.runpytest().assert_outcomes(skipped=1)


def test_an_xfail_without_raises_stops_the_run(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("from tests.conftest import pytest_collection_modifyitems\n")
    pytester.makepyfile(
        test_vague="""
        import pytest

        @pytest.mark.xfail(strict=True, raises=KeyError, reason="precise")
        def test_precise():
            raise KeyError("x")

        @pytest.mark.xfail(strict=True, reason="accepts any error")
        def test_vague():
            raise KeyError("x")
        """
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*xfail without raises=*test_vague.py::test_vague"])
    result.stderr.no_fnmatch_line("*test_precise*")
