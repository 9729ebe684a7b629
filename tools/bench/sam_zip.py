"""Zips a Lambda package the way `sam deploy` does (samcli/lib/package/utils.py make_zip):
Python's zipfile, ZIP_DEFLATED at zlib's default level, Unix permissions 0755.

    python sam_zip.py OUT.zip PATH...

Each PATH is a file (stored under its base name) or a folder (stored as <base name>/..., without
__pycache__ folders).
"""

import os
import sys
import zipfile


def entries(path):
    base = os.path.basename(os.path.normpath(path))
    if os.path.isfile(path):
        yield path, base
        return
    for root, dirs, files in os.walk(path, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            full = os.path.join(root, name)
            yield full, os.path.join(base, os.path.relpath(full, path))


def main(out, paths):
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in paths:
            for full, arcname in entries(path):
                info = zipfile.ZipInfo(arcname)
                info.create_system = 3
                info.external_attr = 0o100755 << 16
                with open(full, "rb") as data:
                    zf.writestr(info, data.read(), compress_type=zipfile.ZIP_DEFLATED)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
