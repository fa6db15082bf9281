"""The package's build backend (PEP 517) and the in-tree build of the extension.

Why our own backend: the extension is one C file linked against the installed libartemis
found by pkg-config, and `pip install ./bindings/python` must work on a machine with no
package index (build isolation would otherwise fetch setuptools and wheel). The backend needs
nothing but the standard library, a C compiler and pkg-config.

    python3 build_artemis.py --inplace [--werror]   # artemis/_artemis<EXT_SUFFIX> next to the sources
    pip install ./bindings/python                    # PKG_CONFIG_PATH for a non-system prefix

CC and CFLAGS from the environment are honoured; ARTEMIS_PKG_CONFIG names the pkg-config.
"""

import base64
import hashlib
import os
import re
import shlex
import subprocess
import sys
import sysconfig
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = "artemis"
SOURCE = os.path.join(HERE, PKG, "_artemis.c")
# The project's warning set (the Makefile's WARN, minus what Python.h itself trips).
WARN = ["-Wall", "-Wextra", "-Wshadow", "-Wmissing-prototypes", "-Wformat=2", "-Wundef",
        "-Wpointer-arith", "-Wvla", "-Wimplicit-fallthrough"]


def _project():
    """name and version from pyproject.toml's [project] table."""
    text = open(os.path.join(HERE, "pyproject.toml"), encoding="utf-8").read()
    try:
        import tomllib

        proj = tomllib.loads(text)["project"]
        return proj["name"], proj["version"], proj.get("description", ""), proj.get("requires-python", "")
    except ImportError:  # Python < 3.11: the two keys are simple strings
        get = lambda k: (re.search(r'^%s\s*=\s*"([^"]*)"' % k, text, re.M) or [None, ""])[1]
        return get("name"), get("version"), get("description"), get("requires-python")


def _pkg_config(*args):
    exe = os.environ.get("ARTEMIS_PKG_CONFIG", "pkg-config")
    try:
        out = subprocess.run([exe] + list(args) + ["artemis"], capture_output=True, text=True, check=True)
    except FileNotFoundError:
        raise SystemExit("build_artemis: %s not found (install pkg-config)" % exe)
    except subprocess.CalledProcessError as e:
        raise SystemExit("build_artemis: libartemis not found by pkg-config (run `make install`, and set "
                         "PKG_CONFIG_PATH=PREFIX/lib/pkgconfig for a non-system prefix): %s" % e.stderr.strip())
    return out.stdout.strip()


def compile_ext(out_dir, werror=False):
    """Build the extension into out_dir/artemis/; returns its path."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    target = os.path.join(out_dir, PKG, "_artemis" + suffix)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    libdir = _pkg_config("--variable=libdir")
    cmd = shlex.split(os.environ.get("CC", "cc")) + [
        "-std=c11", "-D_GNU_SOURCE", "-O2", "-g", "-fPIC", "-shared", "-fvisibility=hidden",
        "-I" + sysconfig.get_paths()["include"],
    ] + WARN + (["-Werror"] if werror else []) + shlex.split(_pkg_config("--cflags")) + \
        shlex.split(os.environ.get("CFLAGS", "")) + [SOURCE, "-o", target] + \
        shlex.split(_pkg_config("--libs")) + ["-Wl,-rpath," + libdir, "-Wl,-z,relro,-z,now"]
    # -fvisibility=hidden: Python.h's PyMODINIT_FUNC exports PyInit__artemis, nothing else is.
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("build_artemis: compiling the extension failed:\n%s\n%s" % (" ".join(cmd), r.stderr))
    if r.stderr.strip():
        sys.stderr.write(r.stderr)
    return target


def _tag():
    impl = "cp%d%d" % sys.version_info[:2]
    abi = impl + (getattr(sys, "abiflags", "") or "")
    plat = re.sub(r"[^A-Za-z0-9]", "_", sysconfig.get_platform())
    return "%s-%s-%s" % (impl, abi, plat)


def _metadata():
    name, version, desc, req = _project()
    lines = ["Metadata-Version: 2.1", "Name: " + name, "Version: " + version, "Summary: " + desc,
             "License: Apache-2.0"]
    if req:
        lines.append("Requires-Python: " + req)
    readme = os.path.join(HERE, "README.md")
    body = open(readme, encoding="utf-8").read() if os.path.exists(readme) else ""
    lines.append("Description-Content-Type: text/markdown")
    return name, version, "\n".join(lines) + "\n\n" + body


def _dist_info(name, version):
    return "%s-%s.dist-info" % (re.sub(r"[-_.]+", "_", name), version)


def get_requires_for_build_wheel(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    name, version, meta = _metadata()
    d = os.path.join(metadata_directory, _dist_info(name, version))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "METADATA"), "w", encoding="utf-8") as f:
        f.write(meta)
    return os.path.basename(d)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name, version, meta = _metadata()
    tag = _tag()
    dist = _dist_info(name, version)
    wheel_name = "%s-%s-%s.whl" % (re.sub(r"[-_.]+", "_", name), version, tag)
    with tempfile.TemporaryDirectory() as tmp:
        ext = compile_ext(tmp)
        files = [(os.path.join(PKG, os.path.basename(ext)), open(ext, "rb").read())]
        for f in sorted(os.listdir(os.path.join(HERE, PKG))):
            if f.endswith((".py", ".pyi")) or f == "py.typed":
                files.append((os.path.join(PKG, f), open(os.path.join(HERE, PKG, f), "rb").read()))
        files.append((dist + "/METADATA", meta.encode()))
        files.append((dist + "/WHEEL", ("Wheel-Version: 1.0\nGenerator: build_artemis\nRoot-Is-Purelib: false\n"
                                        "Tag: %s\n" % tag).encode()))
        files.append((dist + "/top_level.txt", (PKG + "\n").encode()))
        record = []
        path = os.path.join(wheel_directory, wheel_name)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for arc, data in files:
                z.writestr(arc, data)
                digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                record.append("%s,sha256=%s,%d" % (arc, digest, len(data)))
            record.append(dist + "/RECORD,,")
            z.writestr(dist + "/RECORD", "\n".join(record) + "\n")
    return wheel_name


def main(argv):
    if "--inplace" not in argv:
        raise SystemExit("usage: build_artemis.py --inplace [--werror]")
    print(compile_ext(HERE, werror="--werror" in argv))


if __name__ == "__main__":
    main(sys.argv[1:])
