#!/usr/bin/env python3
"""Sizes of the release Lambda binaries: `sizes.py --target-dir target --out FILE`.

The Lambda binaries are the `[[bin]]` targets of bbws-lambda (its src/bin/*.rs); each is read from
<target-dir>/release/. "Stripped" means the ELF file has no `.symtab` section (the workspace release
profile sets `strip = "symbols"`). Also records the size of the installed `bbws` PyO3 module, when
there is one, for comparison.
"""

from __future__ import annotations

import argparse
import json
import struct
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def elf_sections(path: Path) -> set[str]:
    """Section names of a 64-bit little-endian ELF file."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
            raise SystemExit(f"{path}: not a 64-bit little-endian ELF file")
        shoff = struct.unpack_from("<Q", head, 0x28)[0]
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", head, 0x3A)
        f.seek(shoff)
        table = f.read(shentsize * shnum)
        str_off, str_size = struct.unpack_from("<QQ", table, shstrndx * shentsize + 0x18)
        f.seek(str_off)
        names = f.read(str_size)
    out = set()
    for i in range(shnum):
        off = struct.unpack_from("<I", table, i * shentsize)[0]
        out.add(names[off : names.index(b"\0", off)].decode(errors="replace"))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--target-dir", type=Path, default=REPO / "target")
    p.add_argument("--wheel-module", type=Path, help="the installed bbws/_bbws*.so, if any")
    p.add_argument("--wheel-profile", default="release")
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args()
    names = sorted(f.stem for f in (REPO / "bbws-lambda" / "src" / "bin").glob("*.rs"))
    binaries = []
    for name in names:
        path = a.target_dir / "release" / name
        if not path.exists():
            raise SystemExit(f"{path}: not built (cargo build --release -p bbws-lambda --bins)")
        binaries.append({"name": name, "path": str(path), "bytes": path.stat().st_size,
                         "stripped": ".symtab" not in elf_sections(path)})
    out = {"binaries": binaries}
    if a.wheel_module and a.wheel_module.exists():
        out["wheel_module"] = {"path": str(a.wheel_module), "size_bytes": a.wheel_module.stat().st_size,
                               "profile": a.wheel_profile}
    a.out.write_text(json.dumps(out, indent=2) + "\n")
    for b in binaries:
        print(f"sizes: {b['name']}: {b['bytes']:,} bytes, stripped: {b['stripped']}")


if __name__ == "__main__":
    main()
