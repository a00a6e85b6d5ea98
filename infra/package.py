"""Build the Lambda artifacts under ``build/`` without Docker or ``sam build``.

    python infra/package.py            # everything (infra/package.sh wraps this)
    python infra/package.py --no-layers   # only function code, reusing built layers

What it makes:

* ``build/layers/<layer>/python/…`` and ``build/layers/<layer>.zip`` - dependencies from
  ``infra/layers/<layer>.txt``, installed for Lambda's platform (python3.12, arm64, manylinux wheels
  only, versions from ``requirements/constraints.txt``), trimmed of parts never imported on Lambda;
* ``build/functions/<name>/`` and ``build/functions/<name>.zip`` - ``functions/<name>/`` plus the shared
  ``contactlake`` package (the report folder also gets Chalice's runtime module, which the API runs on);
  this is the only way the functions are packaged;
* ``build/template.yaml`` - ``template.yaml`` with ``CodeUri``/``ContentUri`` pointing at those zips, the
  input of ``infra/deploy.sh``;
* a size table: Lambda refuses a function whose code plus layers exceed 250 MB unzipped
  (262,144,000 bytes), so the build fails if any function is over, and reports the headroom.

Needs only PyPI. Bytecode is compiled with a Python 3.12 interpreter when one is found
(``$PYTHON312``, ``python3.12`` on PATH), so cold starts do not compile the layer in memory.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "build"
CONSTRAINTS = REPO / "requirements" / "constraints.txt"
LAYER_SPECS = REPO / "infra" / "layers"

LAMBDA_UNZIPPED_LIMIT = 262_144_000  # "250 MB" (250 MiB): function code and all its layers together
PYTHON_VERSION = "3.12"
# aarch64 to match Architectures: [arm64]. Lambda's python3.12 runs on Amazon Linux 2023 (glibc 2.34);
# pip widens manylinux_2_28 to every older manylinux tag, the second flag is for pips that do not.
PLATFORMS = ("manylinux_2_28_aarch64", "manylinux2014_aarch64")

#: Which layers each code folder runs with (must agree with template.yaml).
FUNCTION_LAYERS: dict[str, tuple[str, ...]] = {
    "ingest": ("deps",),
    "validate": ("deps",),
    "analyse": ("deps", "athena"),  # awswrangler runs its Athena statements (ADR 0015)
    "report": ("deps", "reporting"),  # ReportFunction and ApiFunction (the Chalice app) share it
}
LAYERS = ("deps", "reporting", "athena")

#: Distributions that must never be in a layer.
FORBIDDEN = {
    "duckdb": "DuckDB is the local engine only; Athena runs the SQL on AWS (68 MB we cannot spare)",
    "boto3": "the Lambda runtime provides boto3; a second copy would shadow it and cost ~36 MB",
    "botocore": "the Lambda runtime provides botocore",
}
#: Provided by the runtime, so a function's requirements.txt may name them without a layer.
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"}

#: Parts of installed packages that Lambda never imports (paths relative to python/, glob patterns).
TRIM_PATTERNS = (
    "bin",
    "**/__pycache__",
    # Sources and headers shipped inside wheels (C, Cython) and test suites.
    "**/*.c",
    "**/*.h",
    "**/*.pyx",
    "**/*.pxd",
    "**/*.pxi",
    "pyarrow/include",
    "pyarrow/src",
    "pyarrow/includes",
    "pyarrow/tests",
    "pyarrow/_pyarrow_cpp_tests*",
    "numpy/tests",
    "numpy/*/tests",
    "numpy/_core/include",
    "matplotlib/tests",
    "pandas/tests",  # 46 MB on aarch64 (the athena layer)
    # Arrow Flight (RPC) is never used: ~30 MB on aarch64. (libarrow_substrait must stay: libarrow_python
    # links it; missing_shared_libraries() below is what catches a trim that goes too far.)
    "pyarrow/libarrow_flight.so*",
    "pyarrow/_flight*.so",
    "pyarrow/libarrow_python_flight.so*",
    # Pillow's AVIF codec (~3.5 MB); PIL.AvifImagePlugin treats a missing _avif as "format unsupported".
    "PIL/_avif*.so",
    "pillow.libs/libavif*",
    # Matplotlib's example data, GUI toolbar icons, the Type 1 metrics of the PS/PDF backends and the serif
    # and monospace families: charts are drawn by Agg into PNG in the default sans-serif, DejaVu Sans, with
    # STIX kept for symbols it lacks (~5 MB).
    "matplotlib/mpl-data/sample_data",
    "matplotlib/mpl-data/images",
    "matplotlib/mpl-data/fonts/afm",
    "matplotlib/mpl-data/fonts/pdfcorefonts",
    "matplotlib/mpl-data/fonts/ttf/DejaVuSerif*",
    "matplotlib/mpl-data/fonts/ttf/DejaVuSansMono*",
    # Swagger UI assets of Powertools' event handler; the API is served by Chalice.
    "aws_lambda_powertools/event_handler/openapi/swagger_ui/*.js",
    "aws_lambda_powertools/event_handler/openapi/swagger_ui/*.css",
)

#: Packages whose compiled modules are optional Cython builds of a .py file next to them: without the
#: .so, Python imports the .py (fontTools: ~13 MB of speedups for font editing we never do).
PURE_PYTHON_TWINS = ("fontTools",)

#: Libraries every manylinux wheel may link against (PEP 599/600), found on Lambda's OS.
SYSTEM_LIBRARIES = re.compile(
    r"^(libc|libm|libdl|librt|libpthread|libutil|libnsl|libresolv|libgcc_s|libstdc\+\+|ld-linux-aarch64"
    r"|ld-linux-x86-64|libz)\.so"
)


class PackageError(RuntimeError):
    """The build cannot produce deployable artifacts; the message says what to change."""


# ------------------------------------------------------------------------------------------ utilities


def run(cmd: list[str], **kwargs: object) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kwargs)  # type: ignore[call-overload]  # noqa: S603 - argv built here


def tree_size(root: Path) -> int:
    """Bytes Lambda counts when it unpacks the tree: the sum of the regular files' sizes."""
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_names(path: Path) -> list[str]:
    """Distribution names from a requirements-style file (comments, markers and pins ignored)."""
    names = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith(("-", ".", "/")):
            continue
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
        if match:
            names.append(normalise(match.group(0)))
    return names


def installed_distributions(site: Path) -> dict[str, Path]:
    """normalised name -> its .dist-info folder, for a --target install."""
    found = {}
    for info in site.glob("*.dist-info"):
        name = info.name[: -len(".dist-info")].rsplit("-", 1)[0]
        found[normalise(name)] = info
    return found


def distribution_files(site: Path, info: Path) -> list[Path]:
    """Files a distribution installed, from its RECORD."""
    record = info / "RECORD"
    if not record.is_file():
        return [info]
    files = []
    for line in record.read_text(encoding="utf-8").splitlines():
        rel = line.split(",", 1)[0]
        if rel:
            files.append(site / rel)
    return files


def trim(site: Path, patterns: Iterable[str] = TRIM_PATTERNS) -> int:
    """Delete what matches ``patterns`` under ``site``; returns the bytes removed."""
    removed = 0
    for pattern in patterns:
        for path in sorted(site.glob(pattern), key=lambda p: len(p.parts), reverse=True):
            if not path.exists():
                continue
            if path.is_dir() and not path.is_symlink():
                removed += tree_size(path)
                shutil.rmtree(path)
            else:
                removed += path.stat().st_size
                path.unlink()
    return removed


def trim_babel_locales(site: Path, languages: Iterable[str] | None = None) -> int:
    """Keep Babel's CLDR data for the report languages only (``REPORT_LANGUAGES``; the whole set is 31 MB).

    The configuration refuses a centre locale outside those languages, so nothing deployed asks for a
    locale this removes."""
    if languages is None:
        from contactlake.config.model import REPORT_LANGUAGES

        languages = REPORT_LANGUAGES
    kept = {"root", *languages}
    removed = 0
    for data in (site / "babel" / "locale-data").glob("*.dat"):
        if re.split(r"[_.]", data.name, maxsplit=1)[0] not in kept:
            removed += data.stat().st_size
            data.unlink()
    return removed


def drop_compiled_twins(site: Path, packages: Iterable[str] = PURE_PYTHON_TWINS) -> int:
    """Remove extension modules that have a pure-Python twin (same stem, .py) in ``packages``."""
    removed = 0
    for package in packages:
        for ext in (site / package).rglob("*.so"):
            if ext.with_name(ext.name.split(".", 1)[0] + ".py").is_file():
                removed += ext.stat().st_size
                ext.unlink()
    return removed


def _elf(readelf: str, lib: Path) -> str:
    return subprocess.run([readelf, "-d", str(lib)], capture_output=True, text=True, check=False).stdout  # noqa: S603


def drop_duplicate_sonames(site: Path) -> int:
    """Wheels cannot hold symlinks, so libfoo.so, libfoo.so.N and libfoo.so.N.M.P arrive as three copies.
    Keep the file named after the SONAME (what the loader asks for) unless something needs another name."""
    readelf = shutil.which("readelf")
    if not readelf:
        return 0
    libs = [p for p in site.rglob("*.so*") if p.is_file()]
    dumps = {lib: _elf(readelf, lib) for lib in libs}
    needed = {
        n for out in dumps.values() for n in re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
    }
    removed = 0
    for lib, out in dumps.items():
        soname = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", out)
        if not soname or soname.group(1) == lib.name or lib.name in needed:
            continue
        if (lib.parent / soname.group(1)).is_file():
            removed += lib.stat().st_size
            lib.unlink()
    return removed


def missing_shared_libraries(site: Path) -> list[str]:
    """ELF NEEDED entries that neither the tree nor the manylinux system set provides (after trimming)."""
    readelf = shutil.which("readelf")
    if not readelf:
        return []
    present = {p.name for p in site.rglob("*.so*") if p.is_file()}
    problems = []
    for lib in sorted(p for p in site.rglob("*.so*") if p.is_file()):
        out = _elf(readelf, lib)
        for needed in re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out):
            if needed not in present and not SYSTEM_LIBRARIES.match(needed):
                problems.append(f"{lib.relative_to(site)} needs {needed}, which is not in the layer")
    return problems


def find_python312() -> str | None:
    candidates = [os.environ.get("PYTHON312"), shutil.which("python3.12")]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += [str(p) for p in sorted(pyenv_root.glob("versions/3.12*/bin/python3.12"))]
    for candidate in candidates:
        if not candidate or not Path(candidate).is_file():
            continue
        # A pyenv shim exists even when that version is not selected; ask the interpreter itself.
        probe = subprocess.run(  # noqa: S603 - an interpreter path we looked up ourselves
            [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 12))"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.stdout.strip() == "True":
            return candidate
    return None


def compile_bytecode(root: Path, python312: str | None) -> None:
    """Unchecked-hash .pyc: valid whatever mtimes the zip keeps, and Lambda's /opt is read-only."""
    if not python312:
        print(
            "warning: no Python 3.12 interpreter found (set PYTHON312); layers ship without bytecode and "
            "Lambda compiles imported modules in memory at every cold start",
            file=sys.stderr,
        )
        return
    run([python312, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(root)])


def write_zip(source: Path, target: Path, prefix: str = "") -> int:
    """Deterministic zip (sorted entries, fixed timestamps, normalised modes); returns its size."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(
                prefix + path.relative_to(source).as_posix(), date_time=(1980, 1, 1, 0, 0, 0)
            )
            mode = 0o755 if path.stat().st_mode & stat.S_IXUSR else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return target.stat().st_size


# --------------------------------------------------------------------------------------------- layers


def pip_install(requirements: Path, target: Path, platforms: tuple[str, ...] = PLATFORMS) -> None:
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
    cmd += ["--target", str(target), "--implementation", "cp", "--python-version", PYTHON_VERSION]
    cmd += ["--abi", "cp" + PYTHON_VERSION.replace(".", ""), "--only-binary=:all:", "--upgrade"]
    for platform in platforms:
        cmd += ["--platform", platform]
    cmd += ["-c", str(CONSTRAINTS), "-r", str(requirements)]
    try:
        run(cmd)
    except subprocess.CalledProcessError as error:
        raise PackageError(
            f"pip could not install {requirements.name} for {platforms[0]} / Python {PYTHON_VERSION}: some "
            "dependency has no matching wheel on PyPI (see pip's message above). Pin a version that ships "
            "aarch64 manylinux wheels in requirements/constraints.txt, or drop it from the layer."
        ) from error


def check_forbidden(site: Path, layer: str) -> None:
    present = installed_distributions(site)
    bad = [f"{name}: {why}" for name, why in FORBIDDEN.items() if name in present]
    if bad:
        raise PackageError(f"layer {layer} must not contain:\n  " + "\n  ".join(bad))


def drop_runtime_provided(site: Path, requirements: Path) -> list[str]:
    """Remove boto3 and the rest of what the Lambda runtime provides when a layer's packages pulled boto3 in
    as a dependency (awswrangler requires it): the runtime's copy is the one that runs. A layer without
    boto3 is left as pip made it, and boto3 named in the layer's own list stays, so
    :func:`check_forbidden` still fails on a boto3 someone asked for."""
    if "boto3" not in installed_distributions(site) or set(read_names(requirements)) & set(RUNTIME_PROVIDED):
        return []
    dropped = []
    for name, info in installed_distributions(site).items():
        if name in RUNTIME_PROVIDED:
            for path in distribution_files(site, info):
                if path.is_file():
                    path.unlink()
            shutil.rmtree(info, ignore_errors=True)
            dropped.append(name)
    return dropped


def remove_duplicates(site: Path, base: Path) -> list[str]:
    """Drop distributions from ``site`` that the earlier layer ``base`` already installs, same version."""
    base_dists = {info.name for info in base.glob("*.dist-info")}
    dropped = []
    for name, info in installed_distributions(site).items():
        if info.name in base_dists:
            for path in distribution_files(site, info):
                if path.is_file():
                    path.unlink()
            shutil.rmtree(info, ignore_errors=True)
            dropped.append(name)
    for folder in sorted(
        (p for p in site.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True
    ):
        if not any(folder.iterdir()):
            folder.rmdir()
    return dropped


def build_layers(
    python312: str | None, root: Path = BUILD / "layers", platforms: tuple[str, ...] = PLATFORMS
) -> None:
    for layer in LAYERS:
        site = root / layer / "python"
        shutil.rmtree(site.parent, ignore_errors=True)
        site.mkdir(parents=True)
        pip_install(LAYER_SPECS / f"{layer}.txt", site, platforms)
        provided = drop_runtime_provided(site, LAYER_SPECS / f"{layer}.txt")
        if provided:
            print(f"{layer}: the runtime's copy is used: {', '.join(sorted(provided))}")
        check_forbidden(site, layer)
        if layer != LAYERS[0]:
            dropped = remove_duplicates(site, root / LAYERS[0] / "python")
            if dropped:
                print(f"{layer}: already in {LAYERS[0]}: {', '.join(sorted(dropped))}")
        saved = trim(site) + trim_babel_locales(site)
        saved += drop_compiled_twins(site) + drop_duplicate_sonames(site)
        print(f"{layer}: trimmed {saved / 1024 / 1024:.1f} MiB")
        missing = missing_shared_libraries(site)
        if missing:
            raise PackageError(f"layer {layer} is broken after trimming:\n  " + "\n  ".join(missing))
        compile_bytecode(site, python312)


#: Imports and calls the Lambda code paths make, run against x86_64 twins of the trimmed layers.
SMOKE_SCRIPT = r"""
import io, importlib, sys
import pyarrow as pa, pyarrow.compute as pc, pyarrow.dataset, pyarrow.parquet as pq
table = pa.table({"a": pa.array([1, 2], pa.int64()), "t": pa.array([0, 1], pa.timestamp("ms"))})
sink = io.BytesIO(); pq.write_table(table, sink, compression="zstd")
assert pq.read_table(io.BytesIO(sink.getvalue())).equals(table)
import sqlglot, jinja2, pytz, zoneinfo
sqlglot.transpile("select date_trunc('hour', x) from t", read="trino", write="duckdb")
from aws_lambda_powertools import Logger, Metrics, single_metric
from aws_lambda_powertools.utilities.data_classes import S3Event, EventBridgeEvent
from contactlake.config import ConfigError, parse_app_config  # the schema check: pydantic and pydantic-core
assert parse_app_config({"centres": {"smoke": {"timezone": "Europe/London"}}}).centre("smoke").zone
try:
    parse_app_config({"centres": {"smoke": {"cost_per_agent_hour": "24"}}})
    raise AssertionError("a number in quotes was accepted")
except ConfigError:
    pass
if "--reporting" in sys.argv:
    import matplotlib; matplotlib.use("Agg")
    from matplotlib.figure import Figure
    fig = Figure(figsize=(4, 2)); fig.add_subplot().plot([1, 2, 3], [3, 1, 2])
    fig.suptitle("€ / $ per contact")
    png = io.BytesIO(); fig.savefig(png, format="png"); assert png.getvalue()[:4] == b"\x89PNG"
    from fpdf import FPDF
    pdf = FPDF(); pdf.add_page(); pdf.set_font("helvetica", size=12); pdf.cell(text="smoke")
    pdf.image(io.BytesIO(png.getvalue()), w=80); assert bytes(pdf.output())[:5] == b"%PDF-"
    import xlsxwriter; book = xlsxwriter.Workbook(io.BytesIO(), {"in_memory": True}); book.close()
    from babel.numbers import format_currency; assert format_currency(1, "EUR", locale="de_DE")
    from babel.numbers import format_decimal; assert format_decimal(1234.5, locale="en_GB") == "1,234.5"
    from PIL import Image; Image.open(io.BytesIO(png.getvalue())).load()
for module in sys.argv[1:]:
    if not module.startswith("--"):
        importlib.import_module(module)
print("smoke ok:", " ".join(a for a in sys.argv[1:] if not a.startswith("--")) or "layers")
"""

#: Modules each code folder must be able to import on Lambda: the handler module and the AWS adapters it
#: reaches lazily (imported here so a dependency missing from the layers shows up at build time).
_AWS_SIDE = ("contactlake.adapters.aws", "contactlake.adapters.athena", "contactlake.adapters.ses")
SMOKE_MODULES = {
    "ingest": ("app", *_AWS_SIDE),
    "validate": ("app", *_AWS_SIDE),
    "analyse": ("app", "contactlake.analyse", "awswrangler", *_AWS_SIDE),  # imported at the first query
    "report": (
        "app",
        "contactlake.report.build",
        "contactlake.report.charts",
        "contactlake.report.pdf",
        *_AWS_SIDE,
    ),
}


def smoke_test(python312: str | None) -> None:
    """Build x86_64 twins of the layers with the same trimming and import the functions against them.

    The deployed layers are aarch64 and cannot run here; the twins share every Python file and differ only
    in machine code, so a trim that removes something the code imports fails here, not on Lambda.
    """
    if not python312:
        raise PackageError("--smoke-test needs a Python 3.12 interpreter (set PYTHON312)")
    root = BUILD / "smoke"
    build_layers(python312, root, ("manylinux_2_28_x86_64", "manylinux2014_x86_64"))
    runtime_site = root / "runtime"  # what the Lambda runtime itself provides
    shutil.rmtree(runtime_site, ignore_errors=True)
    runtime_site.mkdir(parents=True)
    run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
         "--target", str(runtime_site), "--python-version", PYTHON_VERSION, "--only-binary=:all:",
         "--platform", "manylinux2014_x86_64", "-c", str(CONSTRAINTS), "boto3"])  # fmt: skip
    for name, layers in FUNCTION_LAYERS.items():
        # Lambda's order: function code, then /opt/python (later layers over earlier), then the runtime.
        paths = [BUILD / "functions" / name] + [root / layer / "python" for layer in reversed(layers)]
        script = root / f"smoke_{name}.py"
        script.write_text(
            f"import sys\nsys.path[:0] = {[str(p) for p in [*paths, runtime_site]]!r}\n" + SMOKE_SCRIPT
        )
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": tempfile.mkdtemp(prefix="smoke-home-"),
            "MPLCONFIGDIR": tempfile.mkdtemp(prefix="smoke-mpl-"),
            "AWS_DEFAULT_REGION": "eu-west-2",
            "CONTACTLAKE_MODE": "aws",
            "POWERTOOLS_METRICS_NAMESPACE": "ContactLake",
        }
        flags = ["--reporting"] if "reporting" in layers else []
        # -I -S: no site-packages of the interpreter, so only the layers can satisfy an import.
        try:
            run(
                [python312, "-I", "-S", str(script), *flags, *SMOKE_MODULES[name]], env=env, cwd=str(paths[0])
            )
        except subprocess.CalledProcessError:
            raise PackageError(
                f"functions/{name} does not import against its layers (see the traceback above): a trim in "
                "infra/package.py went too far, or the code imports a package no layer provides"
            ) from None


# ------------------------------------------------------------------------------------------ functions

_IGNORED_NAMES = ("__pycache__", "*.pyc", "tests", "*.sh")


def _ignore(folder: str, names: list[str]) -> set[str]:
    """What never goes into a deployment package: hidden entries (tool caches such as .mypy_cache),
    bytecode of the build machine's Python, tests, scripts."""
    ignored = shutil.ignore_patterns(*_IGNORED_NAMES)(folder, names)
    return set(ignored) | {name for name in names if name.startswith(".")}


def chalice_runtime(target: Path) -> None:
    """Copy Chalice's runtime (``chalice/app.py`` and ``chalice/__init__.py``) as ``chalice package`` does."""
    with tempfile.TemporaryDirectory() as tmp:
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--only-binary=:all:",
                "-c",
                str(CONSTRAINTS),
                "-d",
                tmp,
                "chalice",
            ]
        )
        wheels = list(Path(tmp).glob("chalice-*.whl"))
        if not wheels:
            raise PackageError("pip downloaded no chalice wheel")
        with zipfile.ZipFile(wheels[0]) as wheel:
            for member in ("chalice/__init__.py", "chalice/app.py"):
                (target / member).parent.mkdir(parents=True, exist_ok=True)
                (target / member).write_bytes(wheel.read(member))


def check_function_requirements(name: str, folder: Path, layer_sites: Mapping[str, Path]) -> None:
    requirements = folder / "requirements.txt"
    if not requirements.is_file():
        return
    available = set(RUNTIME_PROVIDED) | {"contactlake", "chalice"}
    for layer in FUNCTION_LAYERS[name]:
        available |= set(installed_distributions(layer_sites[layer]))
    missing = [n for n in read_names(requirements) if n not in available]
    if missing:
        raise PackageError(
            f"functions/{name}/requirements.txt needs {', '.join(missing)}, which no layer of the function "
            f"provides; add them to infra/layers/{FUNCTION_LAYERS[name][-1]}.txt (and mind the 250 MB limit)"
        )


def build_functions(python312: str | None) -> None:
    shared = REPO / "shared" / "contactlake"
    layer_sites = {layer: BUILD / "layers" / layer / "python" for layer in LAYERS}
    for name in FUNCTION_LAYERS:
        source = REPO / "functions" / name
        if not (source / "app.py").is_file():
            raise PackageError(f"functions/{name}/app.py is missing: template.yaml's handlers live there")
        check_function_requirements(name, source, layer_sites)
        target = BUILD / "functions" / name
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target, ignore=_ignore)
        shutil.copytree(shared, target / "contactlake", ignore=_ignore)
        if name == "report":  # the API (contactlake.api) runs on Chalice's runtime module
            chalice_runtime(target)
        compile_bytecode(target, python312)


# ------------------------------------------------------------------------------------- template, sizes

_CODE_URI = re.compile(r"^(\s+CodeUri:\s+)functions/([a-z0-9_-]+)/?\s*$", re.MULTILINE)
_CONTENT_URI = re.compile(r"^(\s+ContentUri:\s+)build/layers/([a-z0-9_-]+)/?\s*$", re.MULTILINE)


def deploy_template(text: str) -> str:
    """template.yaml with local code paths replaced by the zips (paths relative to build/)."""
    text, functions = _CODE_URI.subn(lambda m: f"{m.group(1)}functions/{m.group(2)}.zip", text)
    text, layers = _CONTENT_URI.subn(lambda m: f"{m.group(1)}layers/{m.group(2)}.zip", text)
    leftovers = re.findall(r"^\s+(?:CodeUri|ContentUri):.*$", text, re.MULTILINE)
    unrewritten = [line.strip() for line in leftovers if not line.strip().endswith(".zip")]
    if unrewritten or not functions or not layers:
        raise PackageError(f"template.yaml has code locations package.py cannot map: {unrewritten}")
    return text


@dataclass(frozen=True)
class SizeRow:
    function: str
    code: int
    layers: int

    @property
    def total(self) -> int:
        return self.code + self.layers

    @property
    def headroom(self) -> int:
        return LAMBDA_UNZIPPED_LIMIT - self.total


def size_rows(
    build: Path = BUILD, function_layers: Mapping[str, tuple[str, ...]] = FUNCTION_LAYERS
) -> list[SizeRow]:
    layer_sizes = {
        layer: tree_size(build / "layers" / layer)
        for layer in {lay for v in function_layers.values() for lay in v}
    }
    return [
        SizeRow(name, tree_size(build / "functions" / name), sum(layer_sizes[lay] for lay in layers))
        for name, layers in function_layers.items()
    ]


def size_report(rows: list[SizeRow], zips: Mapping[str, int]) -> Iterator[str]:
    mb = 1024 * 1024  # Lambda's "250 MB" is 250 MiB (262,144,000 bytes)
    yield (
        f"{'function':<10} {'code MiB':>8} {'layers MiB':>10} {'total MiB':>9} {'limit MiB':>9} "
        f"{'headroom MiB':>12}"
    )
    for row in rows:
        yield (
            f"{row.function:<10} {row.code / mb:>8.1f} {row.layers / mb:>10.1f} {row.total / mb:>9.1f} "
            f"{LAMBDA_UNZIPPED_LIMIT / mb:>9.1f} {row.headroom / mb:>12.1f}"
        )
    yield "zipped: " + ", ".join(f"{name} {size / mb:.1f} MiB" for name, size in sorted(zips.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build Lambda zips and build/template.yaml")
    parser.add_argument("--no-layers", action="store_true", help="reuse build/layers (code changes only)")
    parser.add_argument(
        "--smoke-test",
        action="store_true",
        help="also import every function against x86_64 twins of the layers",
    )
    args = parser.parse_args(argv)
    python312 = find_python312()
    try:
        if not args.no_layers:
            build_layers(python312)
        elif not all((BUILD / "layers" / layer / "python").is_dir() for layer in LAYERS):
            raise PackageError("--no-layers, but build/layers is incomplete; run without it once")
        build_functions(python312)
        zips = {}
        for layer in LAYERS:
            zips[f"layer:{layer}"] = write_zip(BUILD / "layers" / layer, BUILD / "layers" / f"{layer}.zip")
        for name in FUNCTION_LAYERS:
            zips[name] = write_zip(BUILD / "functions" / name, BUILD / "functions" / f"{name}.zip")
        template = deploy_template((REPO / "template.yaml").read_text(encoding="utf-8"))
        (BUILD / "template.yaml").write_text(template, encoding="utf-8")
        rows = size_rows()
        for line in size_report(rows, zips):
            print(line)
        over = [row for row in rows if row.headroom < 0]
        if over:
            raise PackageError(
                "over Lambda's 250 MB unzipped limit: "
                + ", ".join(f"{r.function} ({r.total / 1024 / 1024:.1f} MiB)" for r in over)
            )
        if args.smoke_test:
            smoke_test(python312)
    except PackageError as error:
        print(f"package: {error}", file=sys.stderr)
        return 1
    print(f"artifacts in {BUILD.relative_to(REPO)}/; deploy with infra/deploy.sh <env>")
    return 0


if __name__ == "__main__":
    sys.exit(main())
